import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Llava, LlavaTokenizer, countPrefill, countSchedule, formatPrompt, parseSchedule } from '@adsc/model';
import { writeShapes } from '@adsc/shapes';
import { blindPixels, evaluate, readDataset, shard, type EvalRecord } from '../src/index.js';
import { writeAlwaysYesModel } from './always-yes.js';

let model: Llava;
let tokenizer: LlavaTokenizer;
let folder: string;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-yes-'));
  writeAlwaysYesModel(dir);
  model = Llava.load(dir);
  tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex, model.config.bosTokenId);
  folder = join(mkdtempSync(join(tmpdir(), 'eval-set-')), 'set');
  writeShapes(folder, { seed: 1, count: 2 });
}, 120_000);

const record = (id: string, type: string, question: string, answer: string, image = 'images/000000.png'): EvalRecord => ({ id, image, type, question, answer });
// The model answers "yes" to everything (always-yes.ts): right on the two "yes" questions only.
const records = [
  record('a', 'exists', 'Is there a red circle?', 'yes'),
  record('b', 'exists', 'Is there a blue square?', 'no', 'images/000001.png'),
  record('c', 'exists', 'Is there a green triangle?', 'Yes'),
  record('d', 'color', 'What color is the circle?', 'red'),
];

// A shared 2-core machine under load can make even the small fixture slow: generous timeouts.
describe('evaluate', { timeout: 120_000 }, () => {
  it('scores a model that always answers "yes" at exactly 2 of 4, 2 of 3 on exists and 0 of 1 on color', () => {
    const predictions: string[] = [];
    const t = evaluate(model, tokenizer, records, { imageFolder: folder, onScored: (_, r) => predictions.push(r.prediction) });
    expect(predictions).toEqual(['yes', 'yes', 'yes', 'yes']);
    expect([t.count, t.correct]).toEqual([4, 2]);
    expect(t.perType.exists).toMatchObject({ count: 3, correct: 2 });
    expect(t.perType.color).toMatchObject({ count: 1, correct: 0 });
  });

  it('counts no reduction without a schedule', () => {
    const t = evaluate(model, tokenizer, records.slice(0, 1), { imageFolder: folder });
    expect(t.flops.scheduled).toBe(t.flops.baseline);
    expect(t.kv.scheduled).toBe(t.kv.baseline);
  });

  it('counts the reduction of a schedule as the accounting predicts for the same prompt', () => {
    const schedule = parseSchedule('adsc:2=1/4,5=1/9', { numLayers: 6 });
    const t = evaluate(model, tokenizer, records.slice(0, 1), { imageFolder: folder, schedule });
    const textTokens = tokenizer.encode(formatPrompt('llava-hf', records[0].question, true)).length - 1; // all ids but <image>
    const predicted = countSchedule(model.config, schedule, { textTokens });
    expect(t.flops.scheduled).toBe(predicted.scheduled.total);
    expect(t.flops.baseline).toBe(predicted.baseline.total);
    expect(t.decoderFlops).toEqual({ scheduled: predicted.scheduled.decoder, baseline: predicted.baseline.decoder });
    expect(t.kv.scheduled).toBe(predicted.scheduled.kvCacheElements);
  });

  it('runs blind without reading the images, at the same cost as with them', () => {
    const missing = records.slice(0, 2).map((r) => ({ ...r, image: 'no/such/file.png' }));
    const blind = evaluate(model, tokenizer, missing, { imageFolder: folder, blind: true });
    const seeing = evaluate(model, tokenizer, records.slice(0, 2), { imageFolder: folder });
    expect(blind.flops).toEqual(seeing.flops);
    expect(blind.kv).toEqual(seeing.kv);
  });

  it('asks a record without an image as text alone, at the cost of its text tokens only', () => {
    const text: EvalRecord = { id: 't', type: 'exists', question: 'red circle Is there a red circle?', answer: 'yes' };
    const schedule = parseSchedule('adsc:2=1/4,5=1/9', { numLayers: 6 });
    const predictions: string[] = [];
    const t = evaluate(model, tokenizer, [text], { imageFolder: '/nonexistent', schedule, onScored: (_, r) => predictions.push(r.prediction) });
    expect(predictions).toEqual(['yes']);
    const n = tokenizer.encode(formatPrompt('llava-hf', text.question, false)).length;
    const layers = model.config.text.numLayers;
    const textOnly = countPrefill(model.config, new Array<number>(layers).fill(n), new Array<number>(layers).fill(0), { image: false });
    expect(t.flops).toEqual({ scheduled: textOnly.total, baseline: textOnly.total });
    expect(t.kv).toEqual({ scheduled: textOnly.kvCacheElements, baseline: textOnly.kvCacheElements });
  });

  it('asks a record given as patch words with their embeddings as its vision tokens, at an image\'s cost', () => {
    const { imageSize, patchSize } = model.config.vision;
    const words = Array.from({ length: (imageSize / patchSize) ** 2 }, (_, p) => (p % 3 === 0 ? 'red circle' : ''));
    const { image: _, ...noImage } = records[0];
    const predictions: string[] = [];
    const asWords = evaluate(model, tokenizer, [{ ...noImage, patchWords: words }], { imageFolder: '/nonexistent', onScored: (_, r) => predictions.push(r.prediction) });
    const seeing = evaluate(model, tokenizer, records.slice(0, 1), { imageFolder: folder });
    expect(predictions).toEqual(['yes']);
    expect(asWords.flops).toEqual(seeing.flops);
    expect(asWords.kv).toEqual(seeing.kv);
  });

  it('names a record whose patch words do not match the model\'s vision tokens', () => {
    const { image: _, ...noImage } = records[0];
    expect(() => evaluate(model, tokenizer, [{ ...noImage, patchWords: ['red circle'] }], { imageFolder: folder })).toThrow('record a: "patch_words" has 1 entries, but the model has');
  });

  it('names the image it cannot read', () => {
    const bad = [{ ...records[0], image: 'no/such/file.png' }];
    expect(() => evaluate(model, tokenizer, bad, { imageFolder: folder })).toThrow(`${join(folder, 'no/such/file.png')}: no such file`);
  });

  it('reads a dataset written by the shapes generator', () => {
    const rs = readDataset(join(folder, 'questions.json'));
    expect(rs.map((r) => r.image)).toEqual(['images/000000.png', 'images/000001.png']);
  });
});

describe('blindPixels', () => {
  it('are all zero: the normalisation mean colour everywhere, at the tower size', () => {
    const px = blindPixels(model);
    expect(px.shape).toEqual([3, 56, 56]); // the small fixture's tower
    expect(new Set(px.toArray())).toEqual(new Set([0]));
  });
});

describe('shard', () => {
  it('takes every n-th item from the i-th', () => {
    const items = [0, 1, 2, 3, 4, 5, 6];
    expect(shard(items, 0, 3)).toEqual([0, 3, 6]);
    expect(shard(items, 2, 3)).toEqual([2, 5]);
  });

  it('refuses an index outside the shard count', () => {
    expect(() => shard([1], 3, 3)).toThrow('shard 3/3: needs integers with 0 <= index < count');
  });
});

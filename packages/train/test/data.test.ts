import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LlavaTokenizer, formatPrompt } from '@adsc/model';
import { DataError, readTrainingData, type TrainingDataOptions } from '../src/index.js';

const tokenizer = LlavaTokenizer.load(fileURLToPath(new URL('../../../examples/tiny-llava', import.meta.url)), 500);
const tmp = mkdtempSync(join(tmpdir(), 'adsc-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
mkdirSync(join(tmp, 'images'));
writeFileSync(join(tmp, 'images', 'sky.png'), 'not decoded here: only its existence is checked');

const options: TrainingDataOptions = {
  tokenizer, template: 'llava-hf', eosTokenId: 2, vocabSize: 512, imageFolder: join(tmp, 'images'), maxLength: 200, visionTokens: 1,
};
let files = 0;

/** Writes `content` (JSON-encoded unless a string) to a fresh file with extension `ext`. */
function dataFile(ext: 'json' | 'jsonl', content: unknown): string {
  const path = join(tmp, `data-${files++}.${ext}`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const twoTurns = {
  id: 'sky-1',
  image: 'sky.png',
  conversations: [
    { from: 'human', value: 'What is the sky?\n<image>' },
    { from: 'gpt', value: 'The sky is red.' },
    { from: 'human', value: 'And the house?' },
    { from: 'gpt', value: 'a house' },
  ],
};

/** Reads one record and expects a DataError whose message holds `message`. */
function expectDataError(ext: 'json' | 'jsonl', content: unknown, message: string, opts = options): void {
  const path = dataFile(ext, content);
  expect(() => readTrainingData(path, opts)).toThrow(DataError);
  expect(() => readTrainingData(path, opts)).toThrow(`${path}: ${message}`);
}

describe('LLaVA conversation JSON', () => {
  const M = -100;
  // The tiny vocabulary: ▁The 311, ▁sky 345, ▁is 305, ▁red 374, "." 261, </s> 2, ▁a 301, ▁house 331.
  const reply1 = [311, 345, 305, 374, 261, 2];
  const reply2 = [301, 331, 2];

  it('masks everything but the two replies and the </s> closing each', () => {
    const [example] = readTrainingData(dataFile('json', [twoTurns]), options);
    const prompt1 = tokenizer.encode(formatPrompt('llava-hf', 'What is the sky?', true));
    // "▁ U S E R : ▁A nd ▁the ▁house ? ▁A S S I S T A N T :" with no BOS: 21 ids
    const prompt2 = [299, 273, 271, 266, 270, 262, 370, 307, 304, 331, 263, 370, 271, 271, 268, 271, 272, 264, 269, 272, 262];
    expect(example.inputIds).toEqual([...prompt1, ...reply1, ...prompt2, ...reply2]);
    expect(example.labels).toEqual([...prompt1.map(() => M), ...reply1, ...prompt2.map(() => M), ...reply2]);
  });

  it('starts with exactly the ids inference feeds the model for the first question', () => {
    const [example] = readTrainingData(dataFile('json', [twoTurns]), { ...options, template: 'vicuna_v1' });
    const prompt = tokenizer.encode(formatPrompt('vicuna_v1', 'What is the sky?', true));
    expect(example.inputIds.slice(0, prompt.length)).toEqual(prompt);
    expect(example.labels.filter((label) => label !== M)).toEqual([...reply1, ...reply2]);
  });

  it('lays the turns out as LLaVA conv v1: the ids are those of the whole conversation text', () => {
    const [example] = readTrainingData(dataFile('json', [twoTurns]), options);
    const text = 'USER: <image>\nWhat is the sky? ASSISTANT: The sky is red.</s>USER: And the house? ASSISTANT: a house</s>';
    expect(example.inputIds).toEqual(tokenizer.encode(text));
  });

  it('resolves the image against the image folder and keeps the id', () => {
    const [example] = readTrainingData(dataFile('json', [twoTurns]), options);
    expect(example.image).toBe(join(tmp, 'images', 'sky.png'));
    expect(example.id).toBe('sky-1');
  });

  it('reads a record without an image', () => {
    const record = { id: 7, conversations: [{ from: 'human', value: 'And the house?' }, { from: 'gpt', value: 'a house' }] };
    const [example] = readTrainingData(dataFile('json', [record]), options);
    expect(example.image).toBeUndefined();
    expect(example.id).toBe('7');
    expect(example.inputIds).toEqual([...tokenizer.encode(formatPrompt('llava-hf', 'And the house?', false)), ...reply2]);
  });

  it('reads an image given as patch words: one list of word ids per vision token, the prompt as with an image', () => {
    const { image: _, ...noImage } = twoTurns;
    const [example] = readTrainingData(dataFile('json', [{ ...noImage, patch_words: ['a house', ''] }]), { ...options, visionTokens: 2 });
    const [withImage] = readTrainingData(dataFile('json', [twoTurns]), options);
    expect(example.patchWords).toEqual([[301, 331], []]); // ▁a ▁house, and nothing
    expect(example.image).toBeUndefined();
    expect(example.inputIds).toEqual(withImage.inputIds);
  });

  it('names file, record and field for patch words that are not one string per vision token', () => {
    const { image: _, ...noImage } = twoTurns;
    expectDataError('json', [{ ...noImage, patch_words: ['a', 'house'] }], 'record 1, field "patch_words": must be a list of 1 strings, one per vision token (got 2)');
    expectDataError('json', [{ ...noImage, patch_words: [3] }], 'record 1, field "patch_words[0]": must be a string of words ("" for none)');
  });

  it('names file, record and field for a record with both an image and patch words', () => {
    expectDataError('json', [{ ...twoTurns, patch_words: ['a house'] }], 'record 1, field "patch_words": the record has an "image" too; give one or the other');
  });

  it('names file, record and field for a missing image', () => {
    expectDataError('json', [twoTurns, { ...twoTurns, image: 'gone.png' }], `record 2, field "image": ${join(tmp, 'images', 'gone.png')} not found`);
  });

  it('names file, record and field for an unknown role', () => {
    const conversations = [twoTurns.conversations[0], { from: 'assistant', value: 'x' }];
    expectDataError('json', [{ ...twoTurns, conversations }], 'record 1, field "conversations[1].from": unknown role "assistant"');
  });

  it('names file, record and field for turns that do not alternate', () => {
    const conversations = [twoTurns.conversations[0], twoTurns.conversations[2]];
    expectDataError('json', [{ ...twoTurns, conversations }], 'record 1, field "conversations[1].from": is "human" but turns must alternate');
  });

  it('names file, record and field for a last question without a reply', () => {
    const conversations = twoTurns.conversations.slice(0, 3);
    expectDataError('json', [{ ...twoTurns, conversations }], 'record 1, field "conversations[2]": the last human turn has no gpt reply');
  });

  it('names file, record and field for an image placeholder in a record without an image', () => {
    const { image: _, ...noImage } = twoTurns;
    expectDataError('json', [noImage], 'record 1, field "conversations[0].value": holds <image> but the record has no "image"');
  });

  it('names file, record and field for an image without a placeholder', () => {
    const conversations = twoTurns.conversations.slice(2);
    expectDataError('json', [{ ...twoTurns, conversations }], 'record 1, field "image": the record has an image but its first human turn holds no <image>');
  });

  it('names file, record and field for an id that is neither string nor integer', () => {
    expectDataError('json', [{ ...twoTurns, id: 1.5 }], 'record 1, field "id": must be a string or an integer');
  });

  it('refuses a record longer than the maximum length, counting the image as its vision positions', () => {
    // 26 + 6 + 21 + 3 = 56 ids, 55 text tokens + 576 vision positions = 631
    expectDataError('json', [twoTurns], 'record 1, field "conversations": 631 positions (55 text tokens + 576 vision positions) exceed the maximum length 600', {
      ...options, maxLength: 600, visionTokens: 576,
    });
  });

  it('lays out independent turns as the stem through the image token and, per turn, the single-turn record\'s tail', () => {
    const [example] = readTrainingData(dataFile('json', [twoTurns]), { ...options, independentTurns: true });
    const first = tokenizer.encode(formatPrompt('llava-hf', 'What is the sky?', true));
    const second = tokenizer.encode(formatPrompt('llava-hf', 'And the house?', true));
    const cut = first.indexOf(500) + 1;
    expect(second.slice(0, cut)).toEqual(first.slice(0, cut)); // one stem for both
    const tail1 = [...first.slice(cut), ...reply1];
    const tail2 = [...second.slice(cut), ...reply2];
    expect(example.inputIds).toEqual([...first.slice(0, cut), ...tail1, ...tail2]);
    expect(example.branches).toEqual([tail1.length, tail2.length]);
    const masked = (n: number) => new Array<number>(n).fill(M);
    expect(example.labels).toEqual([...masked(cut), ...masked(first.length - cut), ...reply1, ...masked(second.length - cut), ...reply2]);
  });

  it('refuses independent turns for a record without an image', () => {
    const record = { id: 1, conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'a house' }] };
    expectDataError('json', [record], 'record 1, field "image": independent turns branch off an image; this record has none', { ...options, independentTurns: true });
  });

  it('measures an independent-turns record by the stem and its longest branch', () => {
    const first = tokenizer.encode(formatPrompt('llava-hf', 'What is the sky?', true));
    // The stem and branch 1 (the longer) are the 26 + 6 ids of the first turn alone, and the image
    // token is one position (visionTokens 1): 32, where the chained record takes 56.
    const fits = first.length + reply1.length;
    expect(fits).toBe(32);
    expect(readTrainingData(dataFile('json', [twoTurns]), { ...options, independentTurns: true, maxLength: 32 })).toHaveLength(1);
    expectDataError('json', [twoTurns], 'record 1, field "conversations": 32 positions (31 text tokens + 1 vision positions) exceed the maximum length 31', {
      ...options, independentTurns: true, maxLength: 31,
    });
  });

  it('names the file when it is not a JSON list', () => {
    expectDataError('json', '{"id": 1}', 'must hold a JSON list of conversation records');
  });
});

describe('pre-tokenized JSONL', () => {
  // <s> ▁What ▁is <image> ▁The ▁sky </s>, learning the last three
  const record = { image: 'sky.png', input_ids: [1, 342, 305, 500, 311, 345, 2], labels: [-100, -100, -100, -100, 311, 345, 2] };
  const lines = (...records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

  it('reads one example per line, ids and labels as given', () => {
    const examples = readTrainingData(dataFile('jsonl', lines(record, { ...record, image: undefined, input_ids: [1, 311, 2], labels: [-100, 311, 2] })), options);
    expect(examples.map((e) => e.inputIds)).toEqual([record.input_ids, [1, 311, 2]]);
    expect(examples.map((e) => e.labels)).toEqual([record.labels, [-100, 311, 2]]);
    expect(examples.map((e) => e.id)).toEqual(['line 1', 'line 2']);
    expect(examples[0].image).toBe(join(tmp, 'images', 'sky.png'));
  });

  it('names file, line and element for a non-integer id', () => {
    expectDataError('jsonl', lines(record, { ...record, input_ids: [1, 342.5, 305, 500, 311, 345, 2] }), 'record 2, field "input_ids[1]": 342.5 is not an integer');
  });

  it('names file, line and field for a label list of the wrong length', () => {
    expectDataError('jsonl', lines({ ...record, labels: [-100, 2] }), 'record 1, field "labels": 2 labels for 7 input_ids');
  });

  it('names file, line and element for a labelled image token', () => {
    expectDataError('jsonl', lines({ ...record, labels: [-100, -100, -100, 500, 311, 345, 2] }), 'record 1, field "labels[3]": is 500 at the image token; it must be -100');
  });

  it('names file, line and element for labels shifted against input_ids', () => {
    expectDataError('jsonl', lines({ ...record, labels: [-100, -100, -100, -100, 345, 2, -100] }), 'record 1, field "labels[4]": is 345 but input_ids[4] is 311');
  });

  it('names file, line and element for an image token in a record without an image', () => {
    expectDataError('jsonl', lines({ ...record, image: undefined }), 'record 1, field "input_ids[3]": is the image token 500 but the record has no "image"');
  });

  it('names file, line and field for an image without an image token', () => {
    expectDataError('jsonl', lines({ ...record, input_ids: [1, 342, 305, 311, 311, 345, 2] }), 'record 1, field "input_ids": the record has an image, so it must hold the image token 500 once, not 0 times');
  });

  it('names file, line and field for a missing image', () => {
    expectDataError('jsonl', lines({ ...record, image: 'gone.png' }), `record 1, field "image": ${join(tmp, 'images', 'gone.png')} not found`);
  });

  it('refuses a record longer than the maximum length', () => {
    expectDataError('jsonl', lines(record), 'record 1, field "input_ids": 9 positions (6 text tokens + 3 vision positions) exceed the maximum length 8', {
      ...options, maxLength: 8, visionTokens: 3,
    });
  });

  it('counts lines, blank ones included, as record numbers', () => {
    expectDataError('jsonl', `${JSON.stringify(record)}\n\n{"input_ids": "x"}\n`, 'record 3, field "input_ids": must be a list of integers');
  });
});

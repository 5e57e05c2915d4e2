import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Llava, LlavaTokenizer, formatPrompt, generate, imageFeatureCount } from '@adsc/model';
import {
  ANSWERS, EOS_TOKEN_ID, IMAGE_TOKEN_ID, QUESTION_TYPES, UNK_TOKEN_ID, allQuestions, generateShapes, initShapesLlava, questionText,
  renderScene, shapesLlavaFiles, writeShapesLlava,
} from '../src/index.js';

const root = new URL('../../../', import.meta.url).pathname;
let dir: string;
let model: Llava;
let tokenizer: LlavaTokenizer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shapes-llava-'));
  writeShapesLlava(dir, 0);
  model = Llava.load(dir);
  tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex, model.config.bosTokenId);
}, 120_000);

// Model runs take about 0.5 s of CPU per question; a loaded shared machine can take several times that.
describe('the untrained shapes-llava directory', { timeout: 120_000 }, () => {
  it('loads with Llava.load as a llava-hf model of 168 px images, 144 vision tokens and 8 decoder layers', () => {
    expect(model.config.layout).toBe('llava-hf');
    expect(model.config.vision.imageSize).toBe(168);
    expect(imageFeatureCount(model.config)).toBe(144); // (168 / 14)^2
    expect(model.config.text.numLayers).toBe(8);
    expect(model.config.imageTokenIndex).toBe(IMAGE_TOKEN_ID);
  });

  it('runs a forward pass over a rendered scene with all 144 vision tokens in every layer', () => {
    const [record] = generateShapes({ seed: 1, count: 1 });
    const img = renderScene(record.scene);
    const ids = tokenizer.encode(formatPrompt('llava-hf', record.text, true));
    const r = generate(model, ids, model.pixels(img), { maxNewTokens: 1 });
    expect(r.promptTokens).toBe(ids.length - 1 + 144);
    expect(r.visionTokensPerLayer).toEqual(new Array(8).fill(144));
    expect(r.prefillLogits).toHaveLength(model.config.text.vocabSize);
  });

  it('holds the JSON files that examples/shapes-llava commits', () => {
    for (const [name, value] of Object.entries(shapesLlavaFiles())) {
      expect(JSON.parse(readFileSync(join(root, 'examples/shapes-llava', name), 'utf8')), name).toEqual(value);
    }
  });

  it('has about 2.5 M parameters, so the trained f16 checkpoint stays far under 30 MB', () => {
    const params = Object.values(initShapesLlava(0)).reduce((s, t) => s + t.size, 0);
    expect(params).toBe(2_515_328);
    expect(params * 2).toBeLessThan(30e6);
  });
});

describe('the initial weights', () => {
  const w = initShapesLlava(0);

  it('are the same for the same seed and differ for another', () => {
    const name = 'language_model.model.layers.3.mlp.up_proj.weight';
    expect(initShapesLlava(0)[name].toArray()).toEqual(w[name].toArray());
    expect(initShapesLlava(1)[name].toArray()).not.toEqual(w[name].toArray());
  });

  it('draw linear weights from normal(0, 0.02)', () => {
    const values = w['language_model.model.layers.0.mlp.gate_proj.weight'].toArray(); // 344 x 128 samples
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(std).toBeGreaterThan(0.0195);
    expect(std).toBeLessThan(0.0205);
  });

  it('start biases at zero and norm weights at one', () => {
    expect(new Set(w['vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.bias'].toArray())).toEqual(new Set([0]));
    expect(new Set(w['multi_modal_projector.linear_1.bias'].toArray())).toEqual(new Set([0]));
    expect(new Set(w['language_model.model.layers.0.input_layernorm.weight'].toArray())).toEqual(new Set([1]));
    expect(new Set(w['vision_tower.vision_model.pre_layrnorm.weight'].toArray())).toEqual(new Set([1]));
  });
});

describe('the word-level tokenizer', () => {
  it('decodes the ids of every answer, followed by </s>, back to the answer', () => {
    for (const type of QUESTION_TYPES) {
      for (const a of ANSWERS[type]) {
        const ids = tokenizer.encode(a).slice(1); // drop BOS
        expect(ids, a).toHaveLength(1);
        expect(tokenizer.decode([...ids, EOS_TOKEN_ID])).toBe(a);
      }
    }
  });

  it('knows every word of every question and of the prompt template', () => {
    for (const q of allQuestions()) {
      const ids = tokenizer.encode(formatPrompt('llava-hf', questionText(q), true));
      expect(ids, questionText(q)).not.toContain(UNK_TOKEN_ID);
    }
  });

  it('encodes the llava-hf prompt word by word, <image> as the image token', () => {
    const ids = tokenizer.encode(formatPrompt('llava-hf', 'Is there a red circle?', true));
    const vocab = (shapesLlavaFiles()['tokenizer.json'] as { model: { vocab: Record<string, number> } }).model.vocab;
    const expected = ['<s>', 'USER', ':', '<image>', 'Is', 'there', 'a', 'red', 'circle', '?', 'ASSISTANT', ':'].map((t) => vocab[t]);
    expect(ids).toEqual(expected);
  });

  it('maps an unknown word to <unk>', () => {
    expect(tokenizer.encode('hexagon')).toEqual([1, UNK_TOKEN_ID]);
  });
});

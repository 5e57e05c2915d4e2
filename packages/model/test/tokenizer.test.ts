import { describe, expect, it } from 'vitest';
import { LlavaTokenizer, formatPrompt } from '../src/index.js';

const demo = new URL('../../../examples/tiny-llava', import.meta.url).pathname; // its <image> is id 500

describe('prompt templates', () => {
  it('formats the llava-hf template with the image placeholder first', () => {
    expect(formatPrompt('llava-hf', 'What is this?', true)).toBe('USER: <image>\nWhat is this? ASSISTANT:');
  });

  it('formats the vicuna_v1 template with its system prompt', () => {
    expect(formatPrompt('vicuna_v1', 'Hi', false)).toBe(
      "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: Hi ASSISTANT:",
    );
  });
});

describe('LlavaTokenizer', () => {
  it('puts BOS first and the <image> added token inline', () => {
    const ids = LlavaTokenizer.load(demo, 500).encode('USER: <image>\nHi');
    expect(ids[0]).toBe(1);
    expect(ids.filter((i) => i === 500)).toHaveLength(1);
  });

  it('encodes a continuation as the same ids without BOS', () => {
    const tokenizer = LlavaTokenizer.load(demo, 500);
    // ▁a 301, ▁house 331 (the tiny vocabulary); BOS is 1
    expect(tokenizer.encode('a house')).toEqual([1, 301, 331]);
    expect(tokenizer.encodeContinuation('a house')).toEqual([301, 331]);
  });

  it('encodes patch words without BOS, one list per patch, and a blank patch as none', () => {
    const tokenizer = LlavaTokenizer.load(demo, 500);
    // ▁a 301, ▁house 331 (the tiny vocabulary)
    expect(tokenizer.encodePatchWords(['a house', '', ' ', 'a'])).toEqual([[301, 331], [], [], [301]]);
  });

  it('splices the image index at <image> when the vocabulary has no such token (original layout)', () => {
    const ids = LlavaTokenizer.load(demo, -200).encode('USER: <image>\nHi');
    expect(ids.filter((i) => i === -200)).toHaveLength(1);
    expect(ids).not.toContain(500);
  });

  it('decodes text back, including characters outside the vocabulary (byte fallback)', () => {
    const t = LlavaTokenizer.load(demo, 500);
    expect(t.decode(t.encodeContinuation('The house is red. Ünï 😀'))).toBe('The house is red. Ünï 😀');
  });

  it('names the missing tokenizer.json', () => {
    expect(() => LlavaTokenizer.load('/nonexistent', 500)).toThrow('/nonexistent/tokenizer.json: not found');
  });
});

import { describe, expect, it } from 'vitest';
import { argmax, sampler } from '../src/index.js';

describe('token choice', () => {
  it('greedy picks the largest logit, the first one on ties', () => {
    expect(argmax(new Float32Array([0, 3, 1, 3]))).toBe(1);
  });

  it('sampling with the same seed repeats the same tokens', () => {
    const logits = new Float32Array([1, 2, 3, 2, 1]);
    const a = sampler(1, 1, 42);
    const b = sampler(1, 1, 42);
    const draws = Array.from({ length: 20 }, () => a(logits));
    expect(Array.from({ length: 20 }, () => b(logits))).toEqual(draws);
    expect(new Set(draws).size).toBeGreaterThan(1); // temperature 1 over 5 tokens does vary
  });

  it('top-p keeps only the most likely tokens whose mass reaches p', () => {
    // softmax([ln 6, ln 3, ln 1]) = [0.6, 0.3, 0.1]: p = 0.85 keeps {0, 1} (0.6 < 0.85 <= 0.9).
    const logits = new Float32Array([Math.log(6), Math.log(3), 0]);
    const draw = sampler(1, 0.85, 7);
    const seen = new Set(Array.from({ length: 300 }, () => draw(logits)));
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it('a tiny temperature behaves like greedy', () => {
    const draw = sampler(1e-3, 1, 3);
    expect(Array.from({ length: 10 }, () => draw(new Float32Array([0.1, 0.5, 0.2])))).toEqual(Array(10).fill(1));
  });
});

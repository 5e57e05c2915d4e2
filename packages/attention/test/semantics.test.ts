/**
 * What attention means, on inputs small enough to work out by hand (the derivation is next to
 * each expected value). Every case runs on both CPU implementations.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { attention, attentionWithProbs, defaultQueryOffset, visibleKeyEnd } from '../src/index.js';

const t = (values: number[], shape: number[]) => tensor(values, shape);

describe.each(['reference', 'tiled'] as const)('%s', (impl) => {
  it('returns the value of the only key', () => {
    // softmax over one score is 1, so the output is v[0] whatever q and k are.
    const out = attention(t([3, -1], [1, 1, 2]), t([2, 5], [1, 1, 2]), t([7, -4], [1, 1, 2]), { impl });
    expectClose(out, [7, -4], { atol: 1e-6 });
  });

  it('averages the values when every score is equal', () => {
    // q = 0: all scores 0, probabilities 1/3 each; (1 + 2 + 6) / 3 = 3.
    const out = attention(t([0], [1, 1, 1]), t([1, 2, 3], [1, 3, 1]), t([1, 2, 6], [1, 3, 1]), { impl });
    expectClose(out, [3], { atol: 1e-6 });
  });

  it('weights values by softmax(scale * q . k)', () => {
    // scale 1, scores [0, ln 3]: probabilities [1/4, 3/4]; 4/4 + 3 * 8/4 = 7.
    const out = attention(t([1], [1, 1, 1]), t([0, Math.log(3)], [1, 2, 1]), t([4, 8], [1, 2, 1]), { impl, scale: 1 });
    expectClose(out, [7], { atol: 1e-6 });
  });

  it('scales scores by 1/sqrt(D) by default', () => {
    // D = 4, q = [1, 1, 1, 1], k1 = [a, a, a, a] with a = ln(3) / 2: q . k1 = 2 ln 3, times 1/sqrt(4) = ln 3.
    const a = Math.log(3) / 2;
    const out = attention(t([1, 1, 1, 1], [1, 1, 4]), t([0, 0, 0, 0, a, a, a, a], [1, 2, 4]), t([4, 4, 4, 4, 8, 8, 8, 8], [1, 2, 4]), { impl });
    expectClose(out, [7, 7, 7, 7], { atol: 1e-6 }); // probabilities [1/4, 3/4] as above
  });

  it('keeps logits near 1e3 finite (no overflow)', () => {
    // Scores 1000 and 1001: probabilities 1/(1+e) and e/(1+e); v = [0, 1] gives e / (1 + e).
    const out = attention(t([1], [1, 1, 1]), t([1000, 1001], [1, 2, 1]), t([0, 1], [1, 2, 1]), { impl, scale: 1 });
    expectClose(out, [Math.E / (1 + Math.E)], { atol: 1e-6 });
  });

  it('hides later keys from earlier queries when causal', () => {
    // q = 0, Tq = Tk = 2: row 0 sees key 0 only (-> 10), row 1 sees both (-> (10 + 20) / 2 = 15).
    const out = attention(t([0, 0], [1, 2, 1]), t([0, 0], [1, 2, 1]), t([10, 20], [1, 2, 1]), { impl, causal: true });
    expectClose(out, [10, 15], { atol: 1e-5 });
  });

  it('lets a decode step (Tq = 1) see the whole cache by default', () => {
    // Default queryOffset = Tk - Tq = 2: the one query sits at position 2 and sees keys 0..2; mean 2.
    const out = attention(t([0], [1, 1, 1]), t([0, 0, 0], [1, 3, 1]), t([1, 2, 3], [1, 3, 1]), { impl, causal: true });
    expectClose(out, [2], { atol: 1e-6 });
  });

  it('places queries at queryOffset when given', () => {
    // queryOffset 0: the one query sits at position 0 and sees key 0 only.
    const out = attention(t([0], [1, 1, 1]), t([0, 0, 0], [1, 3, 1]), t([1, 2, 3], [1, 3, 1]), { impl, causal: true, queryOffset: 0 });
    expectClose(out, [1], { atol: 1e-6 });
  });

  it('returns zeros, never NaN, for a row that sees no key', () => {
    // queryOffset -1: row 0 sits at position -1 and sees nothing; row 1 sits at 0 and sees key 0.
    const out = attention(t([0, 0], [1, 2, 1]), t([0, 0], [1, 2, 1]), t([5, 9], [1, 2, 1]), { impl, causal: true, queryOffset: -1 });
    expectClose(out, [0, 5], { atol: 1e-6 });
  });

  it('shares each key/value head among Hq / Hkv query heads (GQA)', () => {
    // Hq 4, Hkv 2: query heads 0, 1 read kv head 0 (values all 1), heads 2, 3 read kv head 1 (all 2).
    const q = t([0.3, -1, 2, 0.5], [4, 1, 1]);
    const k = t([1, 2, 3, 4], [2, 2, 1]);
    const v = t([1, 1, 2, 2], [2, 2, 1]);
    expectClose(attention(q, k, v, { impl }), [1, 1, 2, 2], { atol: 1e-6 });
  });
});

describe('attentionWithProbs', () => {
  it('returns probabilities that weight the values', () => {
    // Scores [0, ln 3] -> probabilities [1/4, 3/4], output 7 (see above).
    const { out, probs } = attentionWithProbs(t([1], [1, 1, 1]), t([0, Math.log(3)], [1, 2, 1]), t([4, 8], [1, 2, 1]), { scale: 1 });
    expectClose(probs, [0.25, 0.75], { atol: 1e-7 });
    expectClose(out, [7], { atol: 1e-6 });
    expect(probs.shape).toEqual([1, 1, 2]);
  });

  it('gives masked keys probability 0 and a row that sees nothing all zeros', () => {
    // q = 0, Tq = Tk = 3, queryOffset -1: row 0 sees nothing, row 1 sees key 0, row 2 keys 0 and 1.
    const { probs } = attentionWithProbs(t([0, 0, 0], [1, 3, 1]), t([0, 0, 0], [1, 3, 1]), t([1, 2, 3], [1, 3, 1]), { causal: true, queryOffset: -1 });
    expectClose(probs, [0, 0, 0, 1, 0, 0, 0.5, 0.5, 0], { atol: 1e-7 });
  });

  it('refuses impl tiled: a FlashAttention-style kernel never forms the probabilities', () => {
    const x = t([0], [1, 1, 1]);
    expect(() => attentionWithProbs(x, x, x, { impl: 'tiled' })).toThrow(/only impl 'reference' forms the probabilities/);
  });
});

describe('visibility rule (mask.ts)', () => {
  it('defaults queryOffset to Tk - Tq', () => {
    expect(defaultQueryOffset(1, 640)).toBe(639); // decode: the new token is the last position
    expect(defaultQueryOffset(7, 7)).toBe(0); // plain prefill
  });

  it('gives each row the prefix of keys up to its own position', () => {
    // queryOffset 2, 10 keys: row 0 sits at 2 and sees keys 0..2 (end 3); row 9 sees all 10.
    expect(visibleKeyEnd(0, 10, true, 2)).toBe(3);
    expect(visibleKeyEnd(9, 10, true, 2)).toBe(10);
    expect(visibleKeyEnd(0, 10, true, -5)).toBe(0); // before every key: sees none
    expect(visibleKeyEnd(0, 10, false, -5)).toBe(10); // not causal: sees all
  });
});

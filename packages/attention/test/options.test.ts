/**
 * Bad input fails early with a message that names the tensor or option at fault.
 */
import { describe, expect, it } from 'vitest';
import { randn, zeros } from '@adsc/core';
import { attention, attentionBackward, attentionWithLse, type AttentionOptions } from '../src/index.js';

const q = randn([4, 3, 8], 1);
const k = randn([2, 5, 8], 2);
const v = randn([2, 5, 8], 3);

describe('shape checks', () => {
  it('names q when it is not [Hq, Tq, D] or batched', () => {
    expect(() => attention(randn([3, 8], 1), k, v)).toThrow(/attention: q must be \[Hq, Tq, D\].*got shape \[3, 8\]/);
  });

  it('rejects Hq that is not a multiple of Hkv', () => {
    expect(() => attention(randn([3, 3, 8], 1), k, v)).toThrow(/Hq = 3 must be a multiple of key\/value heads Hkv = 2/);
  });

  it('rejects a head dim of k and v that differs from q', () => {
    expect(() => attention(q, randn([2, 5, 4], 2), randn([2, 5, 4], 3))).toThrow(/head dim D of q \(8\) and k, v \(4\) differ/);
  });

  it('rejects k and v of different shapes', () => {
    expect(() => attention(q, k, randn([2, 6, 8], 3))).toThrow(/k and v must have the same shape.*v \[2, 6, 8\]/);
  });

  it('rejects batch axes that differ', () => {
    expect(() => attention(randn([2, 4, 3, 8], 1), randn([3, 2, 5, 8], 2), randn([3, 2, 5, 8], 3))).toThrow(/batch axis of q, k and v must match/);
  });

  it('rejects integer tensors', () => {
    expect(() => attention(zeros([4, 3, 8], 'i32'), k, v)).toThrow(/q must have a float dtype.*got i32/);
  });
});

describe('option checks', () => {
  const bad: [string, AttentionOptions, RegExp][] = [
    ['an unknown impl', { impl: 'flash' as never }, /option impl must be one of 'reference', 'tiled', got "flash"/],
    ['a fractional queryOffset', { queryOffset: 1.5 }, /option queryOffset must be an integer, got 1.5/],
    ['a non-finite scale', { scale: Infinity }, /option scale must be a finite number/],
    ['a non-boolean causal', { causal: 1 as never }, /option causal must be a boolean/],
    ['a zero tile size', { tile: { keys: 0 } }, /option tile.keys must be a positive integer, got 0/],
    ['an unknown tile field', { tile: { rows: 4 } as never }, /unknown tile size "rows"/],
    ['an unknown option', { mask: true } as never, /unknown option "mask"/],
  ];
  it.each(bad)('rejects %s', (_, opts, message) => {
    expect(() => attention(q, k, v, opts)).toThrow(message);
  });
});

describe('backward checks', () => {
  const out = randn([4, 3, 8], 4);
  const lse = randn([4, 3], 5);
  const dOut = randn([4, 3, 8], 6);

  it('checks q, k, v and the options as the forward does, naming attentionBackward', () => {
    expect(() => attentionBackward(q, k, randn([2, 6, 8], 3), out, lse, dOut)).toThrow(/attentionBackward: k and v must have the same shape/);
    expect(() => attentionBackward(q, k, v, out, lse, dOut, { tile: { queries: 0 } })).toThrow(/attentionBackward: option tile.queries must be a positive integer/);
  });

  it('rejects an out that is not shaped like q', () => {
    expect(() => attentionBackward(q, k, v, randn([4, 3, 4], 4), lse, dOut)).toThrow(/attentionBackward: out must have shape \[4, 3, 8\] \(from q \[4, 3, 8\]\), got \[4, 3, 4\]/);
  });

  it('rejects an lse that is not q without its D axis', () => {
    expect(() => attentionBackward(q, k, v, out, randn([4, 3, 1], 5), dOut)).toThrow(/attentionBackward: lse must have shape \[4, 3\] .*got \[4, 3, 1\]/);
  });

  it('rejects a dOut that is not shaped like q', () => {
    expect(() => attentionBackward(q, k, v, out, lse, randn([4, 8], 6))).toThrow(/attentionBackward: dOut must have shape \[4, 3, 8\] .*got \[4, 8\]/);
  });

  it('rejects a missing or integer saved tensor', () => {
    expect(() => attentionBackward(q, k, v, out, undefined as never, dOut)).toThrow(/attentionBackward: lse must be a Tensor \[4, 3\]/);
    expect(() => attentionBackward(q, k, v, out, zeros([4, 3], 'i32'), dOut)).toThrow(/attentionBackward: lse must have a float dtype.*got i32/);
  });

  it('names attentionWithLse in its errors', () => {
    expect(() => attentionWithLse(q, k, v, { impl: 'flash' as never })).toThrow(/attentionWithLse: option impl/);
  });
});

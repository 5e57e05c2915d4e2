/**
 * Bad input fails early with a message that names the tensor or option at fault.
 */
import { describe, expect, it } from 'vitest';
import { randn, zeros } from '@adsc/core';
import { attention, type AttentionOptions } from '../src/index.js';

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

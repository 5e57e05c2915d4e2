/**
 * The online-softmax step on its own: folding blocks one by one must give the softmax of the whole
 * row, and a row with nothing visible must stay at m = -Infinity, l = 0 without NaN.
 */
import { describe, expect, it } from 'vitest';
import { expectClose } from '@adsc/core/testing';
import { onlineSoftmaxStep } from '../src/index.js';

describe('onlineSoftmaxStep', () => {
  it('on a first block returns alpha 0 and the block exponentials relative to its max', () => {
    // Block [1, 3]: m = 3, P = [e^-2, 1], l = 1 + e^-2; alpha = exp(-inf - 3) = 0.
    const s = Float64Array.from([1, 3]);
    const m = Float64Array.from([-Infinity]);
    const l = Float64Array.from([0]);
    expect(onlineSoftmaxStep(s, 0, 2, m, l, 0)).toBe(0);
    expectClose(s, [Math.exp(-2), 1], { atol: 1e-15 });
    expect(m[0]).toBe(3);
    expectClose(l, [1 + Math.exp(-2)], { atol: 1e-15 });
  });

  it('rescales by exp(m_old - m_new) when a later block holds a larger score', () => {
    // After [1, 3]: m = 3, l = 1 + e^-2. Block [5]: m_new = 5, alpha = e^-2,
    // l = e^-2 (1 + e^-2) + 1, P = [1].
    const s = Float64Array.from([1, 3, 5]);
    const m = Float64Array.from([-Infinity]);
    const l = Float64Array.from([0]);
    onlineSoftmaxStep(s, 0, 2, m, l, 0);
    const alpha = onlineSoftmaxStep(s, 2, 1, m, l, 0);
    expectClose([alpha], [Math.exp(-2)], { atol: 1e-15 });
    expect(m[0]).toBe(5);
    expectClose(l, [Math.exp(-2) * (1 + Math.exp(-2)) + 1], { atol: 1e-15 });
    expect(s[2]).toBe(1);
  });

  it('ends with m and l of the whole row, whatever the block split', () => {
    // softmax normaliser of a row: m = max, l = sum exp(s - m); fold the row in blocks of 3.
    const row = [0.5, -2, 4, 1, 7, -3, 2, 6.5];
    const m = Float64Array.from([-Infinity]);
    const l = Float64Array.from([0]);
    const s = Float64Array.from(row);
    for (let at = 0; at < row.length; at += 3) onlineSoftmaxStep(s, at, Math.min(3, row.length - at), m, l, 0);
    expect(m[0]).toBe(7);
    expectClose(l, [row.reduce((acc, x) => acc + Math.exp(x - 7), 0)], { atol: 1e-13 });
  });

  it('keeps a row with only -Infinity scores at m = -Infinity, l = 0, P = 0 and alpha 1', () => {
    const s = Float64Array.from([-Infinity, -Infinity]);
    const m = Float64Array.from([-Infinity]);
    const l = Float64Array.from([0]);
    expect(onlineSoftmaxStep(s, 0, 2, m, l, 0)).toBe(1);
    expect([...s, m[0], l[0]]).toEqual([0, 0, -Infinity, 0]);
  });

  it('gives masked (-Infinity) entries P = 0 next to visible ones', () => {
    // [2, -inf]: m = 2, P = [1, 0], l = 1.
    const s = Float64Array.from([2, -Infinity]);
    const m = Float64Array.from([-Infinity]);
    const l = Float64Array.from([0]);
    onlineSoftmaxStep(s, 0, 2, m, l, 0);
    expect([...s, m[0], l[0]]).toEqual([1, 0, 2, 1]);
  });
});

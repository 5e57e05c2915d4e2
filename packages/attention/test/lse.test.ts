/**
 * attentionWithLse: the forward's output plus each query row's logsumexp, which is all the
 * backward pass keeps from the forward. Hand-derived values first, then the case table.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { attention, attentionWithLse, attentionWithProbs } from '../src/index.js';
import { CASES, TABLE_TIMEOUT_MS, oracleLse } from './cases.js';

const t = (values: number[], shape: number[]) => tensor(values, shape);

describe.each(['reference', 'tiled'] as const)('%s', (impl) => {
  it('returns log(sum_j exp(scale * q . k_j)) for each row', () => {
    // scale 1, q = [1], keys [0, ln 3]: scores [0, ln 3], lse = log(1 + 3) = log 4.
    const { lse } = attentionWithLse(t([1], [1, 1, 1]), t([0, Math.log(3)], [1, 2, 1]), t([4, 8], [1, 2, 1]), { impl, scale: 1 });
    expect(lse.shape).toEqual([1, 1]);
    expectClose(lse, [Math.log(4)], { atol: 1e-6 });
  });

  it('counts only the keys a causal row sees', () => {
    // q = 0 (all scores 0), Tq = Tk = 3: row i sees i + 1 keys, lse = log(i + 1).
    const { lse } = attentionWithLse(t([0, 0, 0], [1, 3, 1]), t([5, 6, 7], [1, 3, 1]), t([1, 2, 3], [1, 3, 1]), { impl, causal: true });
    expectClose(lse, [0, Math.log(2), Math.log(3)], { atol: 1e-6 });
  });

  it('keeps logits near 1e3 finite', () => {
    // Scores 1000 and 1001: lse = 1001 + log(1 + e^-1).
    const { lse } = attentionWithLse(t([1], [1, 1, 1]), t([1000, 1001], [1, 2, 1]), t([0, 1], [1, 2, 1]), { impl, scale: 1 });
    expectClose(lse, [1001 + Math.log(1 + Math.exp(-1))], { rtol: 1e-7 });
  });

  it('gives -Infinity for a row that sees no key', () => {
    // queryOffset -1: row 0 sees nothing, row 1 sees key 0 only (lse = its score, 0).
    const { out, lse } = attentionWithLse(t([0, 0], [1, 2, 1]), t([0, 0], [1, 2, 1]), t([3, 4], [1, 2, 1]), { impl, causal: true, queryOffset: -1 });
    expect(lse.toArray()).toEqual([-Infinity, 0]);
    expect(out.toArray()).toEqual([0, 3]);
  });

  it.each(CASES)('matches the float64 oracle: $name', (c) => {
    const opts = { ...c.opts, impl, tile: { queries: 8, keys: 16 } };
    const { out, lse } = attentionWithLse(c.q, c.k, c.v, opts);
    expect(lse.shape).toEqual(c.q.shape.slice(0, -1));
    expectClose(lse, oracleLse(c), { rtol: 1e-6, atol: 1e-6 });
    expectClose(out, attention(c.q, c.k, c.v, opts), { atol: 0 });
  }, TABLE_TIMEOUT_MS);
});

it("attentionWithProbs returns the reference's lse too (for training FastV's layer)", () => {
  const c = CASES.find((x) => x.name.startsWith('rows that see no key'))!;
  const { lse } = attentionWithProbs(c.q, c.k, c.v, c.opts);
  expect(lse.toArray()).toEqual(attentionWithLse(c.q, c.k, c.v, { ...c.opts, impl: 'reference' }).lse.toArray());
  expect(lse.toArray()).toContain(-Infinity);
});

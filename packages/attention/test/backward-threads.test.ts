/**
 * The tiled backward on worker threads: a large enough call is really split by key/value heads,
 * and the split changes no bit of the result (each part owns its dK, dV and dQ rows).
 *
 * core's runOnThreads is wrapped in a spy (the real function still runs) to see the split.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getNumThreads, randn, runOnThreads, setNumThreads } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { TILED_BACKWARD_TASK, attentionBackward, attentionWithLse, type AttentionOptions } from '../src/index.js';

vi.mock('@adsc/core', async (importOriginal) => {
  const core = await importOriginal<typeof import('@adsc/core')>();
  return { ...core, runOnThreads: vi.fn(core.runOnThreads) };
});

describe('worker threads', () => {
  // 8 query heads over 4 kv heads, 128 x 128 x 32: 2 * 8 * 128 * 128 * 32 = 8.4 M multiply-adds
  // per product, above the threshold, so two threads take two kv heads each.
  const q = randn([8, 128, 32], 21);
  const k = randn([4, 128, 32], 22);
  const v = randn([4, 128, 32], 23);
  const dOut = randn([8, 128, 32], 24);
  const opts: AttentionOptions = { causal: true };
  const before = getNumThreads();
  afterEach(() => {
    setNumThreads(before);
    vi.mocked(runOnThreads).mockClear();
  });

  const run = (threads: number, impl: 'tiled' | 'reference' = 'tiled') => {
    setNumThreads(threads);
    const { out, lse } = attentionWithLse(q, k, v, { ...opts, impl });
    return { out, lse, ...attentionBackward(q, k, v, out, lse, dOut, { ...opts, impl }) };
  };

  it('splits the backward over two threads by key/value heads', () => {
    run(2);
    const calls = vi.mocked(runOnThreads).mock.calls.filter(([task]) => task.name === TILED_BACKWARD_TASK.name);
    expect(calls).toHaveLength(1);
    const parts = calls[0][1] as { kvHeadStart: number; kvHeadEnd: number }[];
    expect(parts.map((p) => [p.kvHeadStart, p.kvHeadEnd])).toEqual([[0, 2], [2, 4]]);
  });

  it('gives the single-thread gradients and lse exactly on two threads', () => {
    const one = run(1);
    expect(vi.mocked(runOnThreads).mock.calls.some(([task]) => task.name === TILED_BACKWARD_TASK.name)).toBe(false);
    const two = run(2);
    for (const key of ['lse', 'dq', 'dk', 'dv'] as const) expectClose(two[key], one[key], { atol: 0 });
  });

  it('matches the reference on two threads', () => {
    const tiled = run(2);
    const reference = run(2, 'reference');
    for (const key of ['dq', 'dk', 'dv'] as const) expectClose(tiled[key], reference[key], { rtol: 1e-5, atol: 1e-5 });
  });
});

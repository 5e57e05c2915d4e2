/**
 * The gpu.js kernels: the case table (cases.ts) in every gpu.js mode this machine offers.
 *
 * - cpu: gpu.js runs the kernel functions as JavaScript; always available.
 * - webasm: gpu.js compiles them to WebAssembly; available wherever Node runs.
 * - headlessgl: the real GLSL path (the native `gl` module, Mesa llvmpipe on a GPU-less machine).
 *   Needs an X display: run `xvfb-run -a npx vitest run --project attention`. With CI set, a missing
 *   headlessgl is a failure, not a skip, so CI cannot silently stop testing the shaders.
 *
 * GL cases are the same as the CPU ones (the Tq = 640 case uses D 64, as on the CPU).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randn, withGrad } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { attention, createGpuAttention, gpuAttentionInUse, useGpuAttention, type GpuAttention, type GpuMode } from '../src/index.js';
import { CASES, GPU_TOLERANCE, TABLE_TIMEOUT_MS, oracle } from './cases.js';

const ci = Boolean(process.env.CI);

interface Session {
  mode: GpuMode;
  /** Must run here: a missing backend fails the tests instead of skipping them. */
  required: boolean;
  gpu?: GpuAttention;
  reason?: string;
}

async function open(mode: GpuMode, required: boolean): Promise<Session> {
  try {
    return { mode, required, gpu: await createGpuAttention({ mode }) };
  } catch (e) {
    const reason = (e as Error).message;
    if (!required) console.warn(`skipping gpu.js mode ${mode}: ${reason}`);
    return { mode, required, reason };
  }
}

/** `gpu` with `onCall` run before each of its attention calls. */
function countingCalls(gpu: GpuAttention, onCall: () => void): GpuAttention {
  return { mode: gpu.mode, destroy: () => gpu.destroy(), attention: (...args) => (onCall(), gpu.attention(...args)) };
}

const sessions: Session[] = [await open('cpu', true), await open('webasm', false), await open('headlessgl', ci)];

for (const session of sessions) {
  describe.skipIf(!session.gpu && !session.required)(`gpu.js mode ${session.mode}`, () => {
    let gpu: GpuAttention;
    beforeAll(() => {
      if (!session.gpu) throw new Error(`gpu.js mode ${session.mode} is required here (CI is set) but unavailable: ${session.reason}`);
      gpu = session.gpu;
    });
    afterAll(() => session.gpu?.destroy());

    it('runs in the mode it was asked for', () => {
      expect(gpu.mode).toBe(session.mode);
    });

    it.each(CASES)('$name', (c) => {
      const out = gpu.attention(c.q, c.k, c.v, c.opts);
      expect(out.shape).toEqual(c.q.shape);
      expectClose(out, oracle(c), GPU_TOLERANCE);
    }, TABLE_TIMEOUT_MS);

    it('gives the same result with small tiles (several query tiles, causal tiles skipped)', () => {
      const c = CASES.find((x) => x.name.startsWith('chunk in the middle'))!;
      expectClose(gpu.attention(c.q, c.k, c.v, { ...c.opts, tile: { queries: 16, keys: 32 } }), oracle(c), GPU_TOLERANCE);
    });

    it('reuses its kernels as a decode cache grows (Tk 65, then 66)', () => {
      // Tk is a kernel argument, not a constant: the second call must see the new key.
      const q = randn([2, 1, 8], 1);
      const k = randn([2, 66, 8], 2);
      const v = randn([2, 66, 8], 3);
      for (const tk of [65, 66]) {
        const want = attention(q, k.narrow(1, 0, tk), v.narrow(1, 0, tk), { causal: true, impl: 'reference' });
        expectClose(gpu.attention(q, k.narrow(1, 0, tk), v.narrow(1, 0, tk), { causal: true }), want, GPU_TOLERANCE);
      }
    });
  });
}

describe('createGpuAttention', () => {
  it("reports the backend gpu.js chose for mode 'gpu', never 'gpu' itself", async () => {
    const gpu = await createGpuAttention({ mode: 'gpu' });
    try {
      expect(['headlessgl', 'webgl2', 'webgl', 'webasm']).toContain(gpu.mode);
    } finally {
      gpu.destroy();
    }
  });

  it('throws a clear error for a mode that is unavailable here (webgl outside a browser)', async () => {
    await expect(createGpuAttention({ mode: 'webgl' })).rejects.toThrow(/gpu.js mode "webgl" is not available here: it needs a browser with WebGL/);
  });

  it('rejects a mode gpu.js does not have', async () => {
    await expect(createGpuAttention({ mode: 'cuda' as GpuMode })).rejects.toThrow(/mode must be one of 'cpu', 'headlessgl'/);
  });

  it('useGpuAttention sends inference calls of attention() to the gpu.js kernels until it is given undefined', async () => {
    const gpu = await createGpuAttention({ mode: 'cpu' });
    let calls = 0;
    const counting = countingCalls(gpu, () => calls++);
    const [q, k, v] = [randn([2, 5, 8], 1), randn([2, 7, 8], 2), randn([2, 7, 8], 3)];
    const cpu = attention(q, k, v, { causal: true });
    try {
      useGpuAttention(counting);
      expect(gpuAttentionInUse()).toBe(counting);
      expectClose(attention(q, k, v, { causal: true }), cpu, GPU_TOLERANCE);
      expect(calls).toBe(1);
      attention(q, k, v, { causal: true, impl: 'reference' }); // an explicit impl stays on the CPU
      expect(calls).toBe(1);
    } finally {
      useGpuAttention(undefined);
      gpu.destroy();
    }
    attention(q, k, v, { causal: true });
    expect(calls).toBe(1);
    expect(gpuAttentionInUse()).toBeUndefined();
  });

  it('useGpuAttention leaves attention on the autograd tape to the CPU kernels', async () => {
    const gpu = await createGpuAttention({ mode: 'cpu' });
    let calls = 0;
    const counting = countingCalls(gpu, () => calls++);
    try {
      useGpuAttention(counting);
      const q = randn([1, 3, 4], 4).requireGrad();
      withGrad(() => attention(q, randn([1, 3, 4], 5), randn([1, 3, 4], 6)));
      expect(calls).toBe(0);
    } finally {
      useGpuAttention(undefined);
      gpu.destroy();
    }
  });

  it('validates inputs like attention() and refuses the impl option', async () => {
    const gpu = await createGpuAttention({ mode: 'cpu' });
    try {
      const x = randn([3, 2, 4], 1);
      expect(() => gpu.attention(x, randn([2, 2, 4], 2), randn([2, 2, 4], 3))).toThrow(/Hq = 3 must be a multiple of key\/value heads Hkv = 2/);
      expect(() => gpu.attention(x, x, x, { impl: 'tiled' } as never)).toThrow(/option impl does not apply/);
    } finally {
      gpu.destroy();
    }
  });
});

/**
 * FlashAttention-2's recurrence as gpu.js kernels: WebGL / headless GL shaders, or JavaScript in
 * gpu.js's cpu mode.
 *
 * gpu.js gives each thread one output value, no shared memory and loops with constant bounds, so a
 * CUDA-style kernel that keeps a whole tile in SRAM cannot be written. The host (this file) walks
 * the tiles instead, and each step of the recurrence is one small kernel over one tile pair; the
 * intermediate tiles stay in textures between kernels (`pipeline: true`), and none is larger than a
 * query tile by a key tile (Br x Bc) or by D. For each query tile i and key tile j:
 *
 *   S      = scale * Q_i K_j^T                         scoresKernel     [H, Br, Bc]
 *   (m, l) = online-softmax step of S over (m, l)      statsKernel      [H, Br, 2]
 *   P      = exp(S - m_new), 0 where masked           probsKernel      [H, Br, Bc]
 *   O      = exp(m - m_new) * O + P V_j                accumulateKernel [H, Br, D]
 *
 * and after the last key tile O / l (normaliseKernel, read back to the CPU). Key tiles wholly above
 * the causal diagonal are never launched; tiles that cross it mask by index, with the rule of
 * mask.ts repeated in the kernels. "Minus infinity" is -1e30 here (GLSL has no portable infinity).
 *
 * gpu.js is imported lazily (`createGpuAttention` is async) so this package loads where gpu.js or
 * its native `gl` module is missing. Kernels are compiled once per shape (heads, D, tile sizes) and
 * reused; scale, offsets, lengths and the causal flag are arguments, so a growing KV cache does not
 * recompile them.
 */
import { f32Output, type Tensor } from '@adsc/core';
import type { GPU, IKernelFunctionThis, IKernelRunShortcut, KernelFunction, KernelVariable } from 'gpu.js';
import { headRows, type HeadRows } from './head-rows.js';
import { resolveProblem, resolveTile, type AttentionOptions, type AttentionProblem, type TileSizes } from './options.js';

/** gpu.js modes a caller may ask for; 'gpu' lets gpu.js choose the best one available. */
export const GPU_MODES = ['cpu', 'headlessgl', 'webgl', 'webgl2', 'webasm', 'gpu'] as const;
export type GpuMode = (typeof GPU_MODES)[number];

export type GpuAttentionOptions = Omit<AttentionOptions, 'impl'>;

export interface GpuAttention {
  /** The gpu.js mode the kernels really run in ('cpu', 'headlessgl', 'webgl', 'webgl2', 'webasm'). */
  readonly mode: string;
  attention(q: Tensor, k: Tensor, v: Tensor, opts?: GpuAttentionOptions): Tensor;
  /** Frees the kernels and the GL context. */
  destroy(): void;
}

/** Query rows per tile (Br) and keys per tile (Bc) of the gpu.js kernels. */
export const DEFAULT_GPU_TILE: Required<TileSizes> = { queries: 128, keys: 64 };

/** What the kernels see as constants (compiled into the shader). */
interface GpuConstants {
  [key: string]: number;
  /** head dim */
  D: number;
  /** query rows per tile */
  BR: number;
  /** keys per tile */
  BC: number;
  /** query heads per key/value head */
  GROUP: number;
}
type This = IKernelFunctionThis<GpuConstants>;

// -- the kernels --------------------------------------------------------------------------------
// Thread (x, y, z) = (column, row r of the query tile, head h). Flat inputs: q [H, BR, D] and
// k, v [Hkv, BC, D], zero-padded past the last row and key.

/** S[h, r, c] = scale * q[h, r] . k[h / GROUP, c] */
function scoresKernel(this: This, q: number[], k: number[], scale: number): number {
  const h = this.thread.z;
  const kh = Math.floor((h + 0.5) / this.constants.GROUP);
  const qAt = (h * this.constants.BR + this.thread.y) * this.constants.D;
  const kAt = (kh * this.constants.BC + this.thread.x) * this.constants.D;
  let dot = 0;
  for (let c = 0; c < this.constants.D; c++) {
    dot += q[qAt + c] * k[kAt + c];
  }
  return dot * scale;
}

/**
 * The online-softmax step (online-softmax.ts), one row per (h, r): x = 0 gives the new running max
 * m_new = max(m, max_c S), x = 1 the new running sum l_new = exp(m - m_new) * l + sum_c exp(S - m_new).
 * Only the first `seen` keys of the block are visible to the row (mask.ts: visibleKeyEnd).
 */
function statsKernel(
  this: This, s: number[][][], prev: number[][][],
  rowStart: number, keyStart: number, keys: number, causal: number, queryOffset: number,
): number {
  const h = this.thread.z;
  const r = this.thread.y;
  let end = keys;
  if (causal > 0.5) end = Math.min(keys, queryOffset + rowStart + r + 1);
  const seen = end - keyStart;
  const mOld = prev[h][r][0];
  let mNew = mOld;
  for (let c = 0; c < this.constants.BC; c++) {
    if (c < seen) mNew = Math.max(mNew, s[h][r][c]);
  }
  if (this.thread.x === 0) return mNew;
  let sum = 0;
  for (let c = 0; c < this.constants.BC; c++) {
    if (c < seen) sum += Math.exp(s[h][r][c] - mNew);
  }
  return Math.exp(mOld - mNew) * prev[h][r][1] + sum;
}

/** P[h, r, c] = exp(S[h, r, c] - m_new), 0 for a key the row does not see. */
function probsKernel(
  this: This, s: number[][][], stats: number[][][],
  rowStart: number, keyStart: number, keys: number, causal: number, queryOffset: number,
): number {
  const h = this.thread.z;
  const r = this.thread.y;
  let end = keys;
  if (causal > 0.5) end = Math.min(keys, queryOffset + rowStart + r + 1);
  if (this.thread.x >= end - keyStart) return 0;
  return Math.exp(s[h][r][this.thread.x] - stats[h][r][0]);
}

/** O[h, r, d] = exp(m - m_new) * O[h, r, d] + sum_c P[h, r, c] * v[h / GROUP, c, d] */
function accumulateKernel(
  this: This, p: number[][][], v: number[], prevStats: number[][][], stats: number[][][], o: number[][][],
): number {
  const h = this.thread.z;
  const r = this.thread.y;
  const d = this.thread.x;
  const kh = Math.floor((h + 0.5) / this.constants.GROUP);
  const vAt = kh * this.constants.BC * this.constants.D + d;
  let acc = 0;
  for (let c = 0; c < this.constants.BC; c++) {
    acc += p[h][r][c] * v[vAt + c * this.constants.D];
  }
  return Math.exp(prevStats[h][r][0] - stats[h][r][0]) * o[h][r][d] + acc;
}

/** Deferred normalisation: O / l, and 0 for a row that saw no key (l = 0). */
function normaliseKernel(this: This, o: number[][][], stats: number[][][]): number {
  const l = stats[this.thread.z][this.thread.y][1];
  if (l > 0) return o[this.thread.z][this.thread.y][this.thread.x] / l;
  return 0;
}

/** Running (m, l) before the first key tile: m = "-infinity" (-1e30), l = 0. */
function initStatsKernel(this: This): number {
  if (this.thread.x === 0) return -1e30;
  return 0;
}

/** Running output before the first key tile. */
function zerosKernel(this: This): number {
  return 0;
}

// -- host side ----------------------------------------------------------------------------------

interface KernelSet {
  initStats: IKernelRunShortcut;
  zeros: IKernelRunShortcut;
  scores: IKernelRunShortcut;
  stats: IKernelRunShortcut;
  probs: IKernelRunShortcut;
  accumulate: IKernelRunShortcut;
  normalise: IKernelRunShortcut;
}

/** Sizes of one kernel configuration (all heads of a call at once). */
interface GpuShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  tileQueries: number;
  tileKeys: number;
}

/**
 * Elements of every buffer one query tile uses at a time (the uploaded tiles, two generations of
 * the running (m, l) and O, and the S and P blocks); 4 bytes each. Independent of Tq and Tk.
 */
export function gpuScratchBytes(p: Pick<AttentionProblem, 'heads' | 'group' | 'queries' | 'headDim'>, tile: TileSizes = {}): number {
  const t = resolveTile('gpuScratchBytes', tile, DEFAULT_GPU_TILE);
  const shape: GpuShape = {
    heads: p.heads, kvHeads: p.heads / p.group, headDim: p.headDim,
    tileQueries: Math.min(t.queries, Math.max(1, p.queries)), tileKeys: t.keys,
  };
  return 4 * bufferElements(shape);
}

function bufferElements(s: GpuShape): number {
  const qTile = s.heads * s.tileQueries * s.headDim;
  const kvTiles = 2 * s.kvHeads * s.tileKeys * s.headDim;
  const stats = 2 * (s.heads * s.tileQueries * 2);
  const out = 2 * (s.heads * s.tileQueries * s.headDim);
  const blocks = 2 * (s.heads * s.tileQueries * s.tileKeys);
  return qTile + kvTiles + stats + out + blocks;
}

type GpuModule = typeof import('gpu.js');

/** Loads gpu.js on first use; a clear error where it is not installed. */
async function loadGpuJs(): Promise<GpuModule> {
  try {
    const mod = (await import('gpu.js')) as GpuModule & { default?: GpuModule };
    return mod.GPU ? mod : (mod.default as GpuModule);
  } catch (e) {
    throw new Error(`createGpuAttention: gpu.js could not be loaded (${(e as Error).message}); install gpu.js ^2.24`);
  }
}

/** The mode a gpu.js kernel class runs in, from the classes gpu.js exports. */
function kernelMode(gpujs: GpuModule, kernelClass: unknown): string {
  const classes: [unknown, string][] = [
    [gpujs.HeadlessGLKernel, 'headlessgl'],
    [gpujs.WebGL2Kernel, 'webgl2'],
    [gpujs.WebGLKernel, 'webgl'],
    [gpujs.CPUKernel, 'cpu'],
    [(gpujs as unknown as Record<string, unknown>).WebAssemblyKernel, 'webasm'],
    [(gpujs as unknown as Record<string, unknown>).WebGPUKernel, 'webgpu'],
  ];
  const found = classes.find(([cls]) => cls === kernelClass);
  return found ? found[1] : String((kernelClass as { name?: string }).name ?? 'unknown');
}

const MODE_HELP: Record<string, string> = {
  headlessgl: 'it needs the native "gl" module built (apt-get install libxi-dev) and an X display (run under xvfb-run -a)',
  webgl: 'it needs a browser with WebGL',
  webgl2: 'it needs a browser with WebGL2',
  webasm: 'it needs WebAssembly',
  gpu: 'no GPU backend of gpu.js works here',
};

/**
 * Creates gpu.js attention in `mode` ('cpu' always works; 'gpu' lets gpu.js pick). Throws when the
 * mode is unavailable. The returned `mode` is read from the kernel class gpu.js actually built.
 */
export async function createGpuAttention({ mode }: { mode: GpuMode }): Promise<GpuAttention> {
  if (!GPU_MODES.includes(mode)) {
    throw new TypeError(`createGpuAttention: mode must be one of ${GPU_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(mode)}`);
  }
  const gpujs = await loadGpuJs();
  let gpu: GPU;
  try {
    gpu = new gpujs.GPU({ mode });
  } catch (e) {
    throw new Error(`createGpuAttention: gpu.js mode "${mode}" is not available here: ${MODE_HELP[mode] ?? ''} (gpu.js: ${(e as Error).message})`);
  }
  // Run a one-thread kernel now: a GL context that cannot be created fails here, not mid-call.
  const probe = gpu.createKernel(zerosKernel as unknown as KernelFunction, { output: [1], precision: 'single' });
  try {
    probe();
  } catch (e) {
    gpu.destroy();
    throw new Error(`createGpuAttention: gpu.js mode "${mode}" failed to run a kernel: ${MODE_HELP[mode] ?? ''} (gpu.js: ${(e as Error).message})`);
  }
  const actual = kernelMode(gpujs, (probe as unknown as { kernel: object }).kernel.constructor);
  if (mode !== 'gpu' && actual !== mode) {
    gpu.destroy();
    throw new Error(`createGpuAttention: gpu.js was asked for mode "${mode}" but built a "${actual}" kernel`);
  }
  const kernels = new Map<string, KernelSet>();

  function kernelsFor(s: GpuShape): KernelSet {
    const key = `${s.heads}/${s.kvHeads}/${s.headDim}/${s.tileQueries}/${s.tileKeys}`;
    let set = kernels.get(key);
    if (set) return set;
    const constants: GpuConstants = { D: s.headDim, BR: s.tileQueries, BC: s.tileKeys, GROUP: s.heads / s.kvHeads };
    const make = (fn: unknown, width: number, pipeline: boolean): IKernelRunShortcut =>
      gpu
        .createKernel(fn as KernelFunction, {
          output: [width, s.tileQueries, s.heads],
          constants,
          precision: 'single',
          tactic: 'precision',
          pipeline,
          immutable: pipeline,
        })
        .setLoopMaxIterations(Math.max(s.headDim, s.tileKeys) + 1);
    set = {
      initStats: make(initStatsKernel, 2, true),
      zeros: make(zerosKernel, s.headDim, true),
      scores: make(scoresKernel, s.tileKeys, true),
      stats: make(statsKernel, 2, true),
      probs: make(probsKernel, s.tileKeys, true),
      accumulate: make(accumulateKernel, s.headDim, true),
      normalise: make(normaliseKernel, s.headDim, false),
    };
    kernels.set(key, set);
    return set;
  }

  /** Checks that no kernel silently fell back to another backend (gpu.js does on a build error). */
  function checkMode(set: KernelSet): void {
    for (const [name, kernel] of Object.entries(set)) {
      const inner = (kernel as unknown as { kernel?: { constructor: unknown; built?: boolean; fallbackReason?: string } }).kernel;
      if (!inner || !inner.built) continue;
      const ran = kernelMode(gpujs, inner.constructor);
      if (ran !== actual) {
        throw new Error(`gpu attention: kernel ${name} fell back from ${actual} to ${ran}: ${inner.fallbackReason ?? 'no reason given'}`);
      }
    }
  }

  function attention(q: Tensor, k: Tensor, v: Tensor, opts: GpuAttentionOptions = {}): Tensor {
    if ((opts as AttentionOptions).impl !== undefined) {
      throw new TypeError('gpu attention: option impl does not apply (the gpu.js kernels are the implementation)');
    }
    const p = resolveProblem('gpu attention', q, k, v, opts);
    const tile = resolveTile('gpu attention', opts.tile, DEFAULT_GPU_TILE);
    const [result, out] = f32Output([...p.lead, p.queryHeads, p.queries, p.headDim]);
    if (p.heads === 0 || p.queries === 0 || p.headDim === 0) return result;
    const shape: GpuShape = {
      heads: p.heads, kvHeads: p.heads / p.group, headDim: p.headDim,
      tileQueries: Math.min(tile.queries, p.queries), tileKeys: tile.keys,
    };
    const set = kernelsFor(shape);
    runTiles(set, shape, p, headRows(q, p, false), headRows(k, p, false), headRows(v, p, false), out);
    checkMode(set);
    return result;
  }

  return {
    get mode() {
      return actual;
    },
    attention,
    destroy() {
      for (const set of kernels.values()) for (const kernel of Object.values(set)) kernel.destroy();
      kernels.clear();
      gpu.destroy();
    },
  };
}

/** A texture (GL) or nested array (cpu mode) produced by a pipeline kernel. */
type Buffer = KernelVariable;

/** Frees a texture; arrays of cpu mode are left to the garbage collector. */
function release(b: Buffer): void {
  const t = b as { delete?: () => void };
  if (t && typeof t.delete === 'function') t.delete();
}

/** The host loop: query tiles outside, key tiles inside, one kernel per step of the recurrence. */
function runTiles(
  set: KernelSet, s: GpuShape, p: AttentionProblem, q: HeadRows, k: HeadRows, v: HeadRows, out: Float32Array,
): void {
  const { queries: tq, keys: tk, headDim: d, causal, queryOffset } = p;
  const br = s.tileQueries;
  const bc = s.tileKeys;
  const qTile = new Float32Array(s.heads * br * d); // [H, Br, D]
  const kTile = new Float32Array(s.kvHeads * bc * d); // [Hkv, Bc, D]
  const vTile = new Float32Array(s.kvHeads * bc * d); // [Hkv, Bc, D]
  for (let i0 = 0; i0 < tq; i0 += br) {
    const rows = Math.min(br, tq - i0);
    packTile(q, s.heads, 1, i0, rows, br, d, qTile);
    // Key tiles past the last row's visible end lie above the causal diagonal: never launched.
    const lastEnd = causal ? Math.min(tk, Math.max(0, queryOffset + i0 + rows)) : tk;
    let stats: Buffer = set.initStats();
    let o: Buffer = set.zeros();
    for (let j0 = 0; j0 < lastEnd; j0 += bc) {
      const cols = Math.min(bc, tk - j0);
      packTile(k, s.kvHeads, p.group, j0, cols, bc, d, kTile);
      packTile(v, s.kvHeads, p.group, j0, cols, bc, d, vTile);
      const scores = set.scores(qTile, kTile, p.scale);
      const next: Buffer = set.stats(scores, stats, i0, j0, tk, causal ? 1 : 0, queryOffset);
      const probs = set.probs(scores, next, i0, j0, tk, causal ? 1 : 0, queryOffset);
      const nextO: Buffer = set.accumulate(probs, vTile, stats, next, o);
      release(scores);
      release(probs);
      release(stats);
      release(o);
      stats = next;
      o = nextO;
    }
    const result = set.normalise(o, stats) as Float32Array[][]; // [H][Br] rows of D
    release(stats);
    release(o);
    for (let h = 0; h < s.heads; h++) {
      for (let r = 0; r < rows; r++) out.set(result[h][r].subarray(0, d), (h * tq + i0 + r) * d);
    }
  }
}

/**
 * Copies rows [start, start + count) of `heads` heads into `tile` ([heads, size, D], zero past
 * `count`). `every`: the step between the query heads whose bases name consecutive tile heads (1
 * for q; the group size for k and v, whose bases are listed per query head).
 */
function packTile(x: HeadRows, heads: number, every: number, start: number, count: number, size: number, d: number, tile: Float32Array): void {
  tile.fill(0);
  for (let h = 0; h < heads; h++) {
    const base = x.bases[h * every];
    for (let r = 0; r < count; r++) {
      const from = base + (start + r) * x.rowStride;
      tile.set(x.data.subarray(from, from + d), (h * size + r) * d);
    }
  }
}

/**
 * The tiled forward's block products (blocks.ts) on WebAssembly SIMD, for prefill and training.
 *
 * blocks.ts multiplies in JavaScript doubles at about half a G multiply-adds a second per thread;
 * core's decode kernels `attendScores` (one row against many: s_j = a . b_j) and `attendValues`
 * (o = sum_j p_j x_j) do the same products 5-10x faster at D = 32 (bench/attention.bench.ts). A wasm
 * instance reads only its own memory, so a head's rows are first copied into this thread's kernel
 * instance (core's `threadWasm`): O(T D) per head against the O(Tq Tk D) products. Then the block
 * products keep blocks.ts's signatures, with the staged rows as their f32 operands:
 *
 *   score:       per block row r, attendScores(a_r, B) -> an f32 row; s[r, j] = scale * that row
 *   accumulate:  per output row r, P's row r (read through its strides) copied in as f32,
 *                attendValues(p_r, X) -> an f32 row; o[r] += that row
 *
 * so tiled.ts runs the same loops on either, and what it keeps across blocks (the running max and
 * sum, the output rows) stays in doubles: only each block's own products are f32 sums, as in the
 * decode kernels. The online softmax between them stays in JavaScript. The backward keeps whole
 * blocks in the kernel's memory instead (wasm-backward.ts): it has five products per block to the
 * forward's two, and the copies in and out of doubles took most of its time.
 *
 * Memory of one staging (`wasmStage`): the staged rows, then a scores row, a P row and an output
 * row. Reserved once per call, before any view is taken (a grow detaches views); the GEMM reuses
 * the same memory between calls, so nothing staged outlives the call.
 */
import { ATTEND_STEP, getKernel, threadWasm, wasmSupported } from '@adsc/core';
import { accumulateBlock, scoreBlock } from './blocks.js';
import { copyHeadRows, type HeadRows } from './head-rows.js';

/** The block products, as blocks.ts defines them. */
export interface BlockProducts {
  score: typeof scoreBlock;
  accumulate: typeof accumulateBlock;
}

export const JS_BLOCKS: BlockProducts = { score: scoreBlock, accumulate: accumulateBlock };

/** Whether a call's block products run on SIMD: the wasm kernel selected, and D a multiple of ATTEND_STEP. */
export function simdBlocks(headDim: number): boolean {
  return headDim % ATTEND_STEP === 0 && getKernel() === 'wasm' && wasmSupported();
}

/** One thread's staging memory for a call and the block products that read it. */
export interface WasmStage {
  blocks: BlockProducts;
  /**
   * Copies `count` rows of head h of `rows` in after the rows staged since the last `reset`, and
   * returns them as head rows (only head h's base is set; `into` adds it to earlier ones).
   */
  stage(rows: HeadRows, h: number, count: number, into?: HeadRows): HeadRows;
  /** Forgets the staged rows: the next `stage` writes from the start. */
  reset(): void;
}

/**
 * Reserves this thread's instance for `rows` staged rows of D floats and blocks of up to `widest`
 * rows or columns.
 */
export function wasmStage(rows: number, d: number, widest: number): WasmStage {
  const sAt = rows * d; // element offsets: scores row, P row, output row
  const pAt = sAt + widest;
  const oAt = pAt + widest;
  const { memory, fns } = threadWasm(4 * (oAt + d));
  const f32 = new Float32Array(memory.buffer);
  let next = 0;

  const score: typeof scoreBlock = (_a, aAt, aStride, _b, bAt, bStride, rows, cols, d, scale, s, ld) => {
    for (let r = 0; r < rows; r++) {
      fns.attendScores(4 * (aAt + r * aStride), 4 * bAt, 4 * sAt, cols, d, 4 * bStride);
      const at = r * ld;
      for (let j = 0; j < cols; j++) s[at + j] = scale * f32[sAt + j];
    }
  };
  const accumulate: typeof accumulateBlock = (o, d, p, pRow, pCol, rows, cols, _x, xAt, xStride) => {
    for (let r = 0; r < rows; r++) {
      const at = r * pRow;
      for (let j = 0; j < cols; j++) f32[pAt + j] = p[at + j * pCol];
      fns.attendValues(4 * pAt, 4 * xAt, 4 * oAt, cols, d, 4 * xStride);
      const row = r * d;
      for (let c = 0; c < d; c++) o[row + c] += f32[oAt + c];
    }
  };
  return {
    blocks: { score, accumulate },
    stage(source, h, count, into) {
      if (next + count * d > sAt) throw new RangeError(`wasmStage: ${count} more rows overflow the ${rows} reserved`);
      copyHeadRows(f32, next, source, h, count, d);
      const staged = into ?? { data: f32, bases: [], rowStride: d };
      staged.bases[h] = next;
      next += count * d;
      return staged;
    },
    reset() {
      next = 0;
    },
  };
}

/**
 * The decode step's attention on WebAssembly SIMD, for keys and values that lie in a wasm arena
 * (core's `placeFreeable`: the model's KV cache puts large layers there).
 *
 * A decode step has one query row per head against the whole cache: two passes over Tk x D (the
 * scores q K^T, then P V), each a memory-bound stream of the cache. The tiled JS kernel does them
 * in doubles at ~0.7 G multiply-adds a second per thread; here core's `attendScores` and
 * `attendValues` kernels read K and V in place, and only the softmax between them (Tk numbers: a
 * max, Tk exps, a sum) runs in JavaScript, in doubles. Per head and query row, in the thread's
 * arena slot (core's `slotAt`):
 *
 *   slot + 0         q row (D f32, copied in), then the output row o (D f32)
 *   slot + SLOT_X    s = q K^T for the row's visible keys, turned in place into p = exp(scale s - m)
 *   out row          o / sum(p)
 *
 * Used by `attention` for up to DECODE_MAX_QUERIES query rows when the wasm kernel is selected, K
 * and V share an arena and D is a multiple of ATTEND_STEP; anything else runs the tiled kernel.
 * Heads are split over threads as the tiled kernel splits them, one slot per part.
 */
import {
  ARENA_SLOTS, ATTEND_STEP, SLOT_X_BYTES, arenaKernels, arenaOf, getKernel, runOnThreads, slotAt,
  type ArenaHandle, type ThreadTask,
} from '@adsc/core';
import type { HeadRows } from './head-rows.js';
import { visibleKeyEnd } from './mask.js';
import type { AttentionProblem } from './options.js';
import { splitByHeads, threadsFor } from './tiled.js';

/** Query rows per head up to which a call reads the keys once per row here (a decode step: 1). */
export const DECODE_MAX_QUERIES = 4;

/** One thread's share: heads [headStart, headEnd), in slot `part` of `arena`. */
export interface ArenaDecodePart {
  arena: ArenaHandle;
  part: number;
  q: HeadRows;
  k: HeadRows;
  v: HeadRows;
  /** Output [heads, Tq, D], contiguous. */
  out: Float32Array;
  headStart: number;
  headEnd: number;
  problem: AttentionProblem;
}

/** The arena K and V both lie in, when this call can run here; undefined sends it to the tiled kernel. */
export function decodeArena(p: AttentionProblem, k: HeadRows, v: HeadRows): ArenaHandle | undefined {
  if (p.queries > DECODE_MAX_QUERIES || p.headDim % ATTEND_STEP !== 0 || p.keys * 4 > SLOT_X_BYTES) return undefined;
  if (getKernel() !== 'wasm') return undefined;
  const arena = arenaOf(k.data);
  return arena && arenaOf(v.data)?.id === arena.id ? arena : undefined;
}

/** Runs the call in `arena`, split by heads over threads when it is large enough. */
export function arenaDecodeAttention(arena: ArenaHandle, p: AttentionProblem, q: HeadRows, k: HeadRows, v: HeadRows, out: Float32Array): void {
  const whole: ArenaDecodePart = { arena, part: 0, q, k, v, out, headStart: 0, headEnd: p.heads, problem: p };
  const parts = Math.min(threadsFor(p), p.heads, ARENA_SLOTS);
  if (parts <= 1) {
    arenaDecodeHeads(whole);
    return;
  }
  // One arena slot per part: its q, scores and output rows.
  runOnThreads(ARENA_DECODE_TASK, splitByHeads(whole, p.heads, parts).map((t, part) => ({ ...t, part })));
}

/** Heads [headStart, headEnd) of a call; the entry point of the worker threads too. */
export function arenaDecodeHeads(t: ArenaDecodePart): void {
  const { queries: tq, keys: tk, headDim: d, scale, causal, queryOffset } = t.problem;
  const fns = arenaKernels(t.arena);
  const memory = new Float32Array(t.arena.memory.buffer);
  const qAt = slotAt(t.part); // bytes; o reuses it once q has been read
  const sAt = qAt + SLOT_X_BYTES;
  const s = memory.subarray(sAt / 4, sAt / 4 + tk);
  const o = memory.subarray(qAt / 4, qAt / 4 + d);
  for (let h = t.headStart; h < t.headEnd; h++) {
    const kAt = t.k.data.byteOffset + t.k.bases[h] * 4;
    const vAt = t.v.data.byteOffset + t.v.bases[h] * 4;
    for (let i = 0; i < tq; i++) {
      const dst = (h * tq + i) * d;
      const seen = visibleKeyEnd(i, tk, causal, queryOffset);
      if (seen === 0) {
        t.out.fill(0, dst, dst + d);
        continue;
      }
      const qRow = t.q.bases[h] + i * t.q.rowStride;
      memory.set(t.q.data.subarray(qRow, qRow + d), qAt / 4);
      fns.attendScores(qAt, kAt, sAt, seen, d, t.k.rowStride * 4);
      // p = exp(scale * s - m), m the row's largest scaled score; l = sum(p), in doubles.
      let m = -Infinity;
      for (let j = 0; j < seen; j++) m = Math.max(m, scale * s[j]);
      let l = 0;
      for (let j = 0; j < seen; j++) {
        s[j] = Math.exp(scale * s[j] - m);
        l += s[j];
      }
      fns.attendValues(sAt, vAt, qAt, seen, d, t.v.rowStride * 4);
      const inv = 1 / l;
      for (let c = 0; c < d; c++) t.out[dst + c] = o[c] * inv;
    }
  }
}

export const ARENA_DECODE_TASK: ThreadTask<ArenaDecodePart> = { module: import.meta.url, name: 'arenaDecodeHeads', run: arenaDecodeHeads };

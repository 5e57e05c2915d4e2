/**
 * The tiled FlashAttention-2 backward (tiled-backward.ts) with every block on WebAssembly SIMD and
 * nothing handed back to JavaScript between the blocks.
 *
 * The same blocks and the same rule per block as tiled-backward.ts's JavaScript loops (P rebuilt
 * from L, dV += P^T dO, dS = P * (dP - delta), dQ += scale dS K, dK += scale dS^T Q), but for one
 * key/value head at a time everything lives in this thread's kernel memory, in f32:
 *
 *   K, V           [Tk, D]           the kv head's rows, copied in once
 *   Q, dO          [group, Tq, D]    its query heads' rows
 *   L, delta       [group, Tq]       the forward's logsumexp; rowsum(dO * O), in doubles first
 *   dQ             [group, Tq, D]    accumulators, zeroed, scaled when copied out
 *   dK, dV         [Tk, D]
 *   P, dS          [Br, ld]          one block (ld = Bc rounded up to whole v128s)
 *   seen           [Br] i32          how many of the tile's keys each row of the block sees
 *
 * and a block is six kernel calls (core's attention-kernels.ts): scoreBlock twice (S = Q K^T and
 * dP = dO V^T), softmaxGradBlock (P = exp(scale S - L) and dS = P (dP - delta), 0 past each row's
 * keys), then accumulateBlock three times (dV += P^T dO, dK += dS^T Q, dQ += dS K). On a diagonal
 * block the products run over the whole block, the masked part too: zeros that cost less than
 * calls per row would. An earlier layout kept S, P, dS and the accumulators in JavaScript doubles
 * and called the kernels per row, copying each in and out: the copies took most of its time.
 *
 * Sums are f32 (the JavaScript loops keep doubles): dK and dV add up to group * Tq terms, as
 * PyTorch's f32 kernels do; the attention tests hold both to the same tolerances.
 */
import { GRAD_STEP, threadWasm } from '@adsc/core';
import { copyHeadRows, type HeadRows } from './head-rows.js';
import { visibleKeyEnd } from './mask.js';
import type { AttentionProblem } from './options.js';
import type { TiledBackwardPart } from './tiled-backward.js';

/** Runs kv heads [kvHeadStart, kvHeadEnd) of `part` with query tiles of `br` rows. */
export function wasmBackwardHeads(part: TiledBackwardPart, br: number): void {
  const { queries: tq, keys: tk, headDim: d, group, scale, causal, queryOffset } = part.problem;
  const bc = part.tile.keys;
  const { ld, kAt, vAt, qAt, dOutAt, dqAt, dkAt, dvAt, lseAt, deltaAt, pAt, dsAt, seenAt, end } = layout(part.problem, br, bc);
  const { memory, fns } = threadWasm(4 * end);
  const f32 = new Float32Array(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  const B = 4; // bytes per element: the kernels take byte addresses and strides

  // Keys past the last row's visible end are seen by no query: their gradients stay 0.
  const keyEnd = tq === 0 ? 0 : visibleKeyEnd(tq - 1, tk, causal, queryOffset);
  for (let g = part.kvHeadStart; g < part.kvHeadEnd; g++) {
    const first = g * group;
    copyHeadRows(f32, kAt, part.k, first, tk, d);
    copyHeadRows(f32, vAt, part.v, first, tk, d);
    for (let j = 0; j < group; j++) {
      copyHeadRows(f32, qAt + j * tq * d, part.q, first + j, tq, d);
      copyHeadRows(f32, dOutAt + j * tq * d, part.dOut, first + j, tq, d);
      f32.set(part.lse.subarray((first + j) * tq, (first + j + 1) * tq), lseAt + j * tq);
      rowDots(part.dOut, part.out, first + j, tq, d, f32, deltaAt + j * tq);
    }
    f32.fill(0, dqAt, lseAt);

    for (let j0 = 0; j0 < keyEnd; j0 += bc) {
      const cols = Math.min(bc, keyEnd - j0);
      const kRow = B * (kAt + j0 * d); // the tile's first K, V, dK and dV rows
      const vRow = B * (vAt + j0 * d);
      const dkRow = B * (dkAt + j0 * d);
      const dvRow = B * (dvAt + j0 * d);
      for (let j = 0; j < group; j++) {
        for (let i0 = 0; i0 < tq; i0 += br) {
          const rows = Math.min(br, tq - i0);
          // A query tile whose last row does not reach key j0 lies above the causal diagonal.
          if (visibleKeyEnd(i0 + rows - 1, tk, causal, queryOffset) <= j0) continue;
          const row = j * tq + i0; // the block's first row among the group's query rows
          for (let r = 0; r < rows; r++) {
            i32[seenAt + r] = Math.max(0, Math.min(cols, visibleKeyEnd(i0 + r, tk, causal, queryOffset) - j0));
          }
          const qRow = B * (qAt + row * d);
          const dOutRow = B * (dOutAt + row * d);
          fns.scoreBlock(qRow, B * d, kRow, B * d, B * pAt, B * ld, rows, cols, d); // S = Q K^T
          fns.scoreBlock(dOutRow, B * d, vRow, B * d, B * dsAt, B * ld, rows, cols, d); // dP = dO V^T
          fns.softmaxGradBlock(B * pAt, B * dsAt, B * ld, rows, cols, B * seenAt, B * (lseAt + row), B * (deltaAt + row), scale);
          // dV_j += P^T dO_i, dK_j += dS^T Q_i, dQ_i += dS K_j (dK and dQ scaled when copied out)
          fns.accumulateBlock(B * pAt, B, B * ld, dOutRow, B * d, dvRow, B * d, cols, rows, d);
          fns.accumulateBlock(B * dsAt, B, B * ld, qRow, B * d, dkRow, B * d, cols, rows, d);
          fns.accumulateBlock(B * dsAt, B * ld, B, kRow, B * d, B * (dqAt + row * d), B * d, rows, cols, d);
        }
      }
    }

    // Copy out: dK and dV of the kv head's visible keys (the rest stay 0), dQ of its query heads.
    const kvOut = g * tk * d;
    for (let e = 0; e < keyEnd * d; e++) {
      part.dk[kvOut + e] = scale * f32[dkAt + e];
      part.dv[kvOut + e] = f32[dvAt + e];
    }
    const qOut = first * tq * d;
    for (let e = 0; e < group * tq * d; e++) part.dq[qOut + e] = scale * f32[dqAt + e];
  }
}

/** What the kernel memory's size depends on. */
type BackwardSize = Pick<AttentionProblem, 'queries' | 'keys' | 'headDim' | 'group'>;

/**
 * Element offsets (f32, or i32 for seen) of one kv head's rows, accumulators and blocks in the
 * kernel memory, and `end`, the elements in all.
 */
function layout(p: BackwardSize, br: number, bc: number) {
  const { queries: tq, keys: tk, headDim: d, group } = p;
  const ld = Math.ceil(bc / GRAD_STEP) * GRAD_STEP;
  const kAt = 0;
  const vAt = kAt + tk * d;
  const qAt = vAt + tk * d;
  const dOutAt = qAt + group * tq * d;
  const dqAt = dOutAt + group * tq * d;
  const dkAt = dqAt + group * tq * d;
  const dvAt = dkAt + tk * d;
  const lseAt = dvAt + tk * d;
  const deltaAt = lseAt + group * tq;
  const pAt = deltaAt + group * tq;
  const dsAt = pAt + br * ld;
  const seenAt = dsAt + br * ld;
  return { ld, kAt, vAt, qAt, dOutAt, dqAt, dkAt, dvAt, lseAt, deltaAt, pAt, dsAt, seenAt, end: seenAt + br };
}

/** Bytes of kernel memory the SIMD backward uses per thread for problem p and `tile`. */
export function wasmBackwardBytes(p: BackwardSize, tile: { queries: number; keys: number }): number {
  return 4 * layout(p, Math.min(tile.queries, Math.max(1, p.queries)), tile.keys).end;
}

/** out[outAt + t] = (row t of a) . (row t of b) for t < count, head h of both, summed in doubles. */
function rowDots(a: HeadRows, b: HeadRows, h: number, count: number, d: number, out: Float32Array, outAt: number): void {
  for (let t = 0; t < count; t++) {
    const x = a.bases[h] + t * a.rowStride;
    const y = b.bases[h] + t * b.rowStride;
    let sum = 0;
    for (let c = 0; c < d; c++) sum += a.data[x + c] * b.data[y + c];
    out[outAt + t] = sum;
  }
}

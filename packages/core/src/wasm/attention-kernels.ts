/**
 * Attention's SIMD kernels. For the decode step, one query row against the keys and values of one
 * head, read where they lie (a KV cache placed in an arena, wasm/arena.ts); the decode step's
 * softmax stays in JavaScript: it is one pass over Tk scores, where the two products are passes
 * over Tk x D.
 *
 *   attendScores:  s[j] = dot(q, K[j])            j < keys        (scaled and exponentiated by the caller)
 *   attendValues:  o    = sum_j p[j] * V[j]                       (the caller divides by sum_j p[j])
 *
 * For the training backward (attention's wasm-backward.ts), one block of query rows against a tile
 * of keys, every operand and result in the kernel's memory:
 *
 *   scoreBlock:        s[r, j] = dot(A[r], B[j])                  (S = Q K^T, dP = dO V^T)
 *   softmaxGradBlock:  p = exp(scale s - L_r), ds = p (ds - delta_r), both 0 past row r's keys
 *   accumulateBlock:   o[i] += sum_j p[i, j] X[j], p through any strides  (P^T dO, dS K, dS^T Q)
 *
 * Rows are `stride` bytes apart (a token-major cache holds every head of a token in one row, so a
 * head's rows are kvHeads * D floats apart); D is a multiple of 32. Sums are in f32 (the tiled JS
 * kernels keep doubles): within the attention tests' tolerances. The block kernels run the row
 * kernels' loops inside a loop over rows, so a block is one call from JavaScript, not one a row.
 */
import { Fn, emitLaneSum } from './assembler.js';

/** D of a head is walked 32 floats at a time (the values' eight accumulators): D must be a multiple. */
export const ATTEND_STEP = 32;

/**
 * Params: q (D f32), k (the first key row), s (keys f32 out), keys, d, stride (bytes between key
 * rows). Two key rows per step with four accumulators each (one per v128 of the step), so that no
 * add waits on the one before; an odd last row runs alone. q is reloaded each step (it stays in L1).
 */
export function attendScores(): Fn {
  const f = new Fn('attendScores', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  emitScores(f, { q: 0, k: 1, s: 2, keys: 3, d: 4, stride: 5 });
  return f;
}

/**
 * Params: a (the first A row), aStride, b (the first B row), bStride, s, ld (bytes between s rows),
 * rows, cols, d: s[r, j] = dot(A[r], B[j]) for r < rows, j < cols, attendScores's loop per row.
 */
export function scoreBlock(): Fn {
  const f = new Fn('scoreBlock', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [a, aStride, b, bStride, s, ld, rows, cols, d] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const q = f.local('i32'); // the current A row
  const out = f.local('i32'); // its s row
  emitRowLoop(f, rows, [[q, a, aStride], [out, s, ld]], () => emitScores(f, { q, k: b, s: out, keys: cols, d, stride: bStride }));
  return f;
}

/**
 * Runs `body` once for each of `rows` rows (none for 0), with cursors: each [local, start, step]
 * local holds its start on the first row and moves by its step (locals all) after each; the row
 * loop every block kernel runs around its per-row work.
 */
function emitRowLoop(f: Fn, rows: number, cursors: [cursor: number, start: number, step: number][], body: () => void): void {
  const row = f.local('i32');
  for (const [cursor, start] of cursors) f.localGet(start).localSet(cursor);
  f.i32Const(0).localSet(row);
  f.block(() => {
    f.localGet(row).localGet(rows).i32GeU().brIf(0);
    f.loop(() => {
      body();
      for (const [cursor, , step] of cursors) f.localGet(cursor).localGet(step).i32Add().localSet(cursor);
      f.localGet(row).i32Const(1).i32Add().localTee(row);
      f.localGet(rows).i32LtU().brIf(0);
    });
  });
}

/** The locals (parameters or not) attendScores's loop reads; it changes none of them. */
interface ScoreOperands { q: number; k: number; s: number; keys: number; d: number; stride: number }

function emitScores(f: Fn, { q, k, s, keys, d, stride }: ScoreOperands): void {
  const p = f.local('i32'); // byte offset into q and the key rows
  const dBytes = f.local('i32');
  const row = f.local('i32'); // address of the current (first) key row
  const out = f.local('i32');
  const outEnd = f.local('i32');
  const pairsEnd = f.local('i32'); // out address past the last pair of rows
  const acc = Array.from({ length: 2 }, () => Array.from({ length: 4 }, () => f.local('v128')));
  const qv = f.local('v128');

  /** s[out + r] = dot(q, row r) for r < rows, then row += rows * stride, out += 4 * rows. */
  const rowsStep = (rows: number) => {
    for (let r = 0; r < rows; r++) for (const a of acc[r]) f.f32x4Const(0).localSet(a);
    f.i32Const(0).localSet(p);
    f.loop(() => {
      for (let quarter = 0; quarter < 4; quarter++) {
        f.localGet(q).localGet(p).i32Add().v128Load(16 * quarter).localSet(qv);
        for (let r = 0; r < rows; r++) {
          f.localGet(acc[r][quarter]).localGet(qv);
          f.localGet(row).localGet(p).i32Add();
          if (r > 0) f.localGet(stride).i32Add();
          f.v128Load(16 * quarter).f32x4Mul().f32x4Add().localSet(acc[r][quarter]);
        }
      }
      f.localGet(p).i32Const(64).i32Add().localTee(p); // 16 floats a step
      f.localGet(dBytes).i32LtU().brIf(0);
    });
    for (let r = 0; r < rows; r++) {
      const [a0, a1, a2, a3] = acc[r];
      f.localGet(a0).localGet(a1).f32x4Add().localGet(a2).localGet(a3).f32x4Add().f32x4Add().localSet(a0);
      f.localGet(out);
      emitLaneSum(f, a0);
      f.f32Store(4 * r);
    }
    f.localGet(row).localGet(stride).i32Const(rows).i32Mul().i32Add().localSet(row);
    f.localGet(out).i32Const(4 * rows).i32Add().localSet(out);
  };

  f.localGet(d).i32Const(4).i32Mul().localSet(dBytes);
  f.localGet(k).localSet(row);
  f.localGet(s).localTee(out).localGet(keys).i32Const(4).i32Mul().i32Add().localSet(outEnd);
  f.localGet(s).localGet(keys).i32Const(1).i32ShrU().i32Const(8).i32Mul().i32Add().localSet(pairsEnd);
  f.block(() => {
    f.localGet(out).localGet(pairsEnd).i32GeU().brIf(0);
    f.loop(() => {
      rowsStep(2);
      f.localGet(out).localGet(pairsEnd).i32LtU().brIf(0);
    });
  });
  f.localGet(out).localGet(outEnd).i32LtU();
  f.if(() => rowsStep(1));
}

/**
 * Params: p (keys f32 weights), v (the first value row), o (D f32 out), keys >= 1, d, stride. Walks
 * the value rows once per 32 columns of D: eight v128 accumulators (32 columns) take p[j] times the
 * row's 32 values for every j, then are stored; a pass reads two 64-byte lines of each row, so the
 * D / 32 passes read each row's bytes once in all. Four accumulators (one line a row per pass) ran
 * 1.3-1.7x slower here: rows 16 KB apart are a page apart, and each pass's line of a row is a miss
 * the prefetcher does not see coming, so fewer, wider passes wait on fewer of them.
 */
export function attendValues(): Fn {
  const f = new Fn('attendValues', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const pStride = f.local('i32');
  f.i32Const(4).localSet(pStride);
  emitWeightedRows(f, { p: 0, v: 1, o: 2, keys: 3, d: 4, stride: 5, pStride }, false);
  return f;
}

/**
 * Params: p, pRow, pCol (bytes between p's rows and between its columns), x (the first X row),
 * xStride, o (the first output row), oStride, outRows, inner >= 1, d:
 * o[i] += sum_{j < inner} p[i, j] X[j] for i < outRows, attendValues's loop per output row with
 * the weights read through pCol. Swapping pRow and pCol reads P transposed: dV += P^T dO is
 * accumulateBlock(P, 4, ld, dO, ...), dQ += dS K is accumulateBlock(dS, ld, 4, K, ...).
 */
export function accumulateBlock(): Fn {
  const f = new Fn('accumulateBlock', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [p, pRow, pCol, x, xStride, o, oStride, outRows, inner, d] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const weights = f.local('i32'); // p's current row
  const out = f.local('i32'); // the current output row
  emitRowLoop(f, outRows, [[weights, p, pRow], [out, o, oStride]], () =>
    emitWeightedRows(f, { p: weights, v: x, o: out, keys: inner, d, stride: xStride, pStride: pCol }, true));
  return f;
}

/** The locals attendValues's loop reads (pStride: bytes between weights); it changes none of them. */
interface WeightedOperands { p: number; v: number; o: number; keys: number; d: number; stride: number; pStride: number }

/** o = (accumulate ? o : 0) + sum_j p[j] V[j], 32 columns of D per pass (see attendValues). */
function emitWeightedRows(f: Fn, { p, v, o, keys, d, stride, pStride }: WeightedOperands, accumulate: boolean): void {
  const column = f.local('i32'); // byte offset of the pass's 32 columns
  const dBytes = f.local('i32');
  const row = f.local('i32'); // address of the pass's columns in the current value row
  const weight = f.local('i32'); // address of p[j]
  const weightEnd = f.local('i32');
  const pj = f.local('v128');
  const acc = Array.from({ length: 8 }, () => f.local('v128'));

  f.localGet(d).i32Const(4).i32Mul().localSet(dBytes);
  f.localGet(p).localGet(keys).localGet(pStride).i32Mul().i32Add().localSet(weightEnd);
  f.i32Const(0).localSet(column);
  f.loop(() => {
    acc.forEach((a, quarter) => {
      if (accumulate) f.localGet(o).localGet(column).i32Add().v128Load(16 * quarter).localSet(a);
      else f.f32x4Const(0).localSet(a);
    });
    f.localGet(v).localGet(column).i32Add().localSet(row);
    f.localGet(p).localSet(weight);
    f.loop(() => {
      f.localGet(weight).v128Load32Splat().localSet(pj);
      acc.forEach((a, quarter) => {
        f.localGet(a).localGet(pj).localGet(row).v128Load(16 * quarter).f32x4Mul().f32x4Add().localSet(a);
      });
      f.localGet(row).localGet(stride).i32Add().localSet(row);
      f.localGet(weight).localGet(pStride).i32Add().localTee(weight);
      f.localGet(weightEnd).i32LtU().brIf(0);
    });
    acc.forEach((a, quarter) => f.localGet(o).localGet(column).i32Add().localGet(a).v128Store(16 * quarter));
    f.localGet(column).i32Const(ATTEND_STEP * 4).i32Add().localTee(column);
    f.localGet(dBytes).i32LtU().brIf(0);
  });
}

/** The backward's blocks are rows of whole v128s: their row length (ld) is a multiple of this. */
export const GRAD_STEP = 4;

/**
 * Params: p (S in, P out), ds (dP in, dS out), ld (bytes between rows of both), rows, cols, seen
 * (i32 per row), lse (f32 per row), delta (f32 per row), scale (f32). For r < rows and j < cols
 * rounded up to a multiple of GRAD_STEP:
 *
 *   p[r, j]  = exp(scale s[r, j] - lse[r])  for j < seen[r], else 0
 *   ds[r, j] = p[r, j] (ds[r, j] - delta[r]) for j < seen[r], else 0
 *
 * the softmax's backward for one block of the training backward: P rebuilt from the forward's
 * logsumexp, and dS = P * (dP - delta) with delta = rowsum(dO * O), FlashAttention's D_i. Keys a
 * row does not see, and the lanes past cols, come out 0 whatever they held (a lane mask, not a
 * multiply: a stale NaN there stays out).
 *
 * WebAssembly has no exp, so it is built from the three steps every libm uses (here Cephes' expf):
 * with x clamped to [-88, 88], n = nearest(x log2 e) and r = x - n ln 2 (ln 2 in two parts, so that
 * r keeps its low bits; |r| <= ln 2 / 2), e^r is a degree-7 polynomial and 2^n is made by writing
 * n + 127 into the exponent bits. Relative error about 2e-7 (1-2 f32 ulp). Below about -87.6,
 * n = -127 makes 2^n the bit pattern 0: the result is exactly 0 (e^x is subnormal there), and
 * -Infinity gives 0 too; above 88 it stays e^88 (no attention score gets near).
 */
export function softmaxGradBlock(): Fn {
  const f = new Fn('softmaxGradBlock', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32']);
  const [p, ds, ld, rows, cols, seen, lse, delta, scale] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const pRow = f.local('i32');
  const dsRow = f.local('i32');
  const at = f.local('i32'); // byte offset within the rows
  const end = f.local('i32'); // cols rounded up, in bytes
  const seenRow = f.local('i32'); // the row's entries of seen, lse and delta
  const lseRow = f.local('i32');
  const deltaRow = f.local('i32');
  const four = f.local('i32'); // their step: one i32 or f32 a row
  const lanes = f.local('v128'); // j of each lane
  const seenV = f.local('v128');
  const mask = f.local('v128');
  const scaleV = f.local('v128');
  const lseV = f.local('v128');
  const deltaV = f.local('v128');
  const x = f.local('v128');
  const n = f.local('v128');
  const red = f.local('v128');
  const y = f.local('v128');
  // Cephes expf: e^r = 1 + r + r^2 (P0 + P1 r + ... + P5 r^5) on |r| <= ln 2 / 2.
  const P = [5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4];
  const LN2_HI = 0.693359375; // ln 2 = LN2_HI + LN2_LO, LN2_HI with few mantissa bits so n LN2_HI is exact
  const LN2_LO = -2.12194440e-4;

  f.localGet(scale).f32x4Splat().localSet(scaleV);
  f.localGet(cols).i32Const(GRAD_STEP - 1).i32Add().i32Const(2).i32ShrU().i32Const(16).i32Mul().localSet(end);
  f.i32Const(4).localSet(four);
  emitRowLoop(f, rows, [[pRow, p, ld], [dsRow, ds, ld], [seenRow, seen, four], [lseRow, lse, four], [deltaRow, delta, four]], () => {
    f.localGet(seenRow).i32Load().i32x4Splat().localSet(seenV);
    f.localGet(lseRow).v128Load32Splat().localSet(lseV);
    f.localGet(deltaRow).v128Load32Splat().localSet(deltaV);
    f.i32x4ConstLanes([0, 1, 2, 3]).localSet(lanes);
    f.i32Const(0).localSet(at);
    f.block(() => {
      f.localGet(at).localGet(end).i32GeU().brIf(0);
      f.loop(() => {
        f.localGet(lanes).localGet(seenV).i32x4LtS().localSet(mask);
        // x = clamp(scale s - lse, -88, 88)
        f.localGet(pRow).localGet(at).i32Add().v128Load().localGet(scaleV).f32x4Mul().localGet(lseV).f32x4Sub();
        f.f32x4Const(-88).f32x4Max().f32x4Const(88).f32x4Min().localSet(x);
        // n = nearest(x log2 e); red = x - n LN2_HI - n LN2_LO
        f.localGet(x).f32x4Const(Math.LOG2E).f32x4Mul().f32x4Nearest().localSet(n);
        f.localGet(x).localGet(n).f32x4Const(LN2_HI).f32x4Mul().f32x4Sub();
        f.localGet(n).f32x4Const(LN2_LO).f32x4Mul().f32x4Sub().localSet(red);
        // y = P0 + red (P1 + red (P2 + ...)), by Horner from P5
        f.f32x4Const(P[5]);
        for (let i = 4; i >= 0; i--) f.localGet(red).f32x4Mul().f32x4Const(P[i]).f32x4Add();
        // e^red = y red^2 + red + 1, times 2^n: (n + 127) << 23 is 2^n's bit pattern (0 for n = -127)
        f.localGet(red).f32x4Mul().localGet(red).f32x4Mul().localGet(red).f32x4Add().f32x4Const(1).f32x4Add();
        f.localGet(n).i32x4TruncSatF32x4S().i32x4Const(127).i32x4Add().i32Const(23).i32x4Shl();
        f.f32x4Mul().localGet(mask).v128And().localSet(y);
        f.localGet(pRow).localGet(at).i32Add().localGet(y).v128Store();
        // ds = p (dP - delta), masked
        f.localGet(dsRow).localGet(at).i32Add();
        f.localGet(dsRow).localGet(at).i32Add().v128Load().localGet(deltaV).f32x4Sub().localGet(y).f32x4Mul();
        f.localGet(mask).v128And().v128Store();
        f.localGet(lanes).i32x4Const(GRAD_STEP).i32x4Add().localSet(lanes);
        f.localGet(at).i32Const(16).i32Add().localTee(at);
        f.localGet(end).i32LtU().brIf(0);
      });
    });
  });
  return f;
}

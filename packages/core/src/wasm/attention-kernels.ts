/**
 * The decode attention's two SIMD kernels: one query row against the keys and values of one head,
 * read where they lie (a KV cache placed in an arena, wasm/arena.ts), and an exponential for the
 * training kernels' probabilities. The decode step's softmax stays in JavaScript: it is one pass
 * over Tk scores, where the two products are passes over Tk x D.
 *
 *   attendScores:  s[j] = dot(q, K[j])            j < keys        (scaled and exponentiated by the caller)
 *   attendValues:  o    = sum_j p[j] * V[j]                       (the caller divides by sum_j p[j])
 *   expRow:        s[j] = exp(scale s[j] - shift)  in place        (the backward's P = exp(S - L))
 *
 * K[j] and V[j] are the rows of one head, `stride` bytes apart (a token-major cache holds every head
 * of a token in one row, so a head's rows are kvHeads * D floats apart); D is a multiple of 32.
 * Sums are in f32 (the tiled JS kernel keeps doubles): within the attention tests' tolerances.
 */
import { Fn, emitLaneSum } from './assembler.js';

/** D of a head is walked 32 floats at a time (the values' eight accumulators): D must be a multiple. */
export const ATTEND_STEP = 32;

/**
 * Params: q (D f32), k (the first key row), s (keys f32 out), keys >= 1, d, stride (bytes between
 * key rows). Two key rows per step with four accumulators each (one per v128 of the step), so that
 * no add waits on the one before; an odd last row runs alone. q is reloaded each step (it stays in
 * L1).
 */
export function attendScores(): Fn {
  const f = new Fn('attendScores', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [q, k, s, keys, d, stride] = [0, 1, 2, 3, 4, 5];
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
  return f;
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
  const [p, v, o, keys, d, stride] = [0, 1, 2, 3, 4, 5];
  const column = f.local('i32'); // byte offset of the pass's 32 columns
  const dBytes = f.local('i32');
  const row = f.local('i32'); // address of the pass's columns in the current value row
  const weight = f.local('i32'); // address of p[j]
  const weightEnd = f.local('i32');
  const pj = f.local('v128');
  const acc = Array.from({ length: 8 }, () => f.local('v128'));

  f.localGet(d).i32Const(4).i32Mul().localSet(dBytes);
  f.localGet(p).localGet(keys).i32Const(4).i32Mul().i32Add().localSet(weightEnd);
  f.i32Const(0).localSet(column);
  f.loop(() => {
    for (const a of acc) f.f32x4Const(0).localSet(a);
    f.localGet(v).localGet(column).i32Add().localSet(row);
    f.localGet(p).localSet(weight);
    f.loop(() => {
      f.localGet(weight).v128Load32Splat().localSet(pj);
      acc.forEach((a, quarter) => {
        f.localGet(a).localGet(pj).localGet(row).v128Load(16 * quarter).f32x4Mul().f32x4Add().localSet(a);
      });
      f.localGet(row).localGet(stride).i32Add().localSet(row);
      f.localGet(weight).i32Const(4).i32Add().localTee(weight);
      f.localGet(weightEnd).i32LtU().brIf(0);
    });
    acc.forEach((a, quarter) => f.localGet(o).localGet(column).i32Add().localGet(a).v128Store(16 * quarter));
    f.localGet(column).i32Const(ATTEND_STEP * 4).i32Add().localTee(column);
    f.localGet(dBytes).i32LtU().brIf(0);
  });
  return f;
}

/** expRow works on whole v128s: it rewrites the scores up to the next multiple of this. */
export const EXP_STEP = 4;

/**
 * Params: s (f32 scores, rewritten in place), count, scale (f32), shift (f32). For j < count rounded
 * up to a multiple of EXP_STEP: s[j] = exp(scale * s[j] - shift).
 *
 * WebAssembly has no exp, so it is built from the three steps every libm uses (here Cephes' expf):
 * with x clamped to [-88, 88], n = nearest(x log2 e) and r = x - n ln 2 (ln 2 in two parts, so that
 * r keeps its low bits; |r| <= ln 2 / 2), e^r is a degree-7 polynomial and 2^n is made by writing
 * n + 127 into the exponent bits. Relative error about 2e-7 (1-2 f32 ulp). Below about -87.6,
 * n = -127 makes 2^n the bit pattern 0: the result is exactly 0 (e^x is subnormal there), and
 * -Infinity gives 0 too; above 88 it stays e^88 (no attention score gets near); NaN stays NaN.
 */
export function expRow(): Fn {
  const f = new Fn('expRow', ['i32', 'i32', 'f32', 'f32']);
  const [s, count, scale, shift] = [0, 1, 2, 3];
  const at = f.local('i32');
  const end = f.local('i32');
  const scaleV = f.local('v128');
  const shiftV = f.local('v128');
  const x = f.local('v128');
  const n = f.local('v128');
  const r = f.local('v128');
  const y = f.local('v128');
  // Cephes expf: e^r = 1 + r + r^2 (P0 + P1 r + ... + P5 r^5) on |r| <= ln 2 / 2.
  const P = [5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4];
  const LN2_HI = 0.693359375; // ln 2 = LN2_HI + LN2_LO, LN2_HI with few mantissa bits so n LN2_HI is exact
  const LN2_LO = -2.12194440e-4;

  f.localGet(scale).f32x4Splat().localSet(scaleV);
  f.localGet(shift).f32x4Splat().localSet(shiftV);
  f.localGet(s).localTee(at);
  f.localGet(count).i32Const(EXP_STEP - 1).i32Add().i32Const(2).i32ShrU().i32Const(16).i32Mul().i32Add().localSet(end);
  f.block(() => {
    f.localGet(at).localGet(end).i32GeU().brIf(0);
    f.loop(() => {
      // x = clamp(scale s - shift, -88, 88)
      f.localGet(at).v128Load().localGet(scaleV).f32x4Mul().localGet(shiftV).f32x4Sub();
      f.f32x4Const(-88).f32x4Max().f32x4Const(88).f32x4Min().localSet(x);
      // n = nearest(x log2 e); r = x - n LN2_HI - n LN2_LO
      f.localGet(x).f32x4Const(Math.LOG2E).f32x4Mul().f32x4Nearest().localSet(n);
      f.localGet(x).localGet(n).f32x4Const(LN2_HI).f32x4Mul().f32x4Sub();
      f.localGet(n).f32x4Const(LN2_LO).f32x4Mul().f32x4Sub().localSet(r);
      // y = P0 + r (P1 + r (P2 + ...)), by Horner from P5
      f.f32x4Const(P[5]);
      for (let i = 4; i >= 0; i--) f.localGet(r).f32x4Mul().f32x4Const(P[i]).f32x4Add();
      // e^r = y r^2 + r + 1
      f.localGet(r).f32x4Mul().localGet(r).f32x4Mul().localGet(r).f32x4Add().f32x4Const(1).f32x4Add().localSet(y);
      // times 2^n: (n + 127) << 23 is 2^n's bit pattern (0 for n = -127)
      f.localGet(at).localGet(y);
      f.localGet(n).i32x4TruncSatF32x4S().i32x4Const(127).i32x4Add().i32Const(23).i32x4Shl();
      f.f32x4Mul().v128Store();
      f.localGet(at).i32Const(16).i32Add().localTee(at);
      f.localGet(end).i32LtU().brIf(0);
    });
  });
  return f;
}

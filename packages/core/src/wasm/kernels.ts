/**
 * The matmul's WebAssembly SIMD kernels, each a TypeScript function that emits it (see
 * assembler.ts). They work only on the instance's own linear memory: the TypeScript driver
 * (kernels/gemm-wasm.ts) copies and packs operands in, calls a kernel, and copies results out.
 *
 * - `gemmBlock`: C[mc, nc] += Ap Bp on packed panels, the GotoBLAS macro-kernel around an
 *   MR x NR = 4 x 8 register tile. Baseline SIMD has no fused multiply-add, so a step of k is
 *   2 loads of B, 4 broadcasts of A, 8 `f32x4.mul` and 8 `f32x4.add` for 32 multiply-adds; with
 *   relaxed SIMD present, 8 `f32x4.relaxed_madd` instead.
 * - `packF16` / `packBf16` / `packF32`: B panels from k-contiguous rows (a weight W [N, K] read as
 *   B = W^T), converting half precision to f32 with integer shifts and masks and transposing
 *   4 x 4 blocks with shuffles, so a weight is converted one block at a time, never whole;
 *   `packAF32` the same for A's panels, `packRowMajorF32` B panels from an n-contiguous B.
 * - `dot{F16,Bf16,F32}x{1..4}`: 1-4 rows of x times every row of a weight block, straight from
 *   its 16-bit storage: the decode step, bound by how fast the weights stream from memory;
 *   `dot*x1w4` one x row against four weight rows per step, for an x too long to stay in L1.
 * - `attendScores` / `attendValues` (attention-kernels.ts): one query row against a head's keys and
 *   values where they lie in an arena, the decode step's attention; `scoreBlock`,
 *   `softmaxGradBlock` and `accumulateBlock` a block of the training backward.
 */
import { MR, NR } from '../kernels/gemm.js';
import { accumulateBlock, attendScores, attendValues, scoreBlock, softmaxGradBlock } from './attention-kernels.js';
import { Fn, assemble, emitLaneSum, type MemorySource } from './assembler.js';
import { webAssembly } from './webassembly.js';

/** f32 lanes of a v128. The register tile (MR x NR) is the JS kernel's, so both read one packing. */
const LANES = 4;
/** Weight rows in `dot*` kernels are read 16 elements per step (two v128 of halves). */
export const DOT_STEP = 16;
/** k of a packed panel is a multiple of this (the 4 x 4 transposes of `pack*`). */
export const PACK_STEP = 4;

export type HalfOrF32 = 'f16' | 'bf16' | 'f32';

/** How a kernel's name spells its weight dtype: packF16, dotBf16x2, dotF32x1w4, ... */
export const KERNEL_SUFFIX = { f16: 'F16', bf16: 'Bf16', f32: 'F32' } as const;

/**
 * The register tile (MR x NR of C in v128 registers):
 *
 *        b0 = B[p, 0:4]   b1 = B[p, 4:8]
 *   a0   c00              c01
 *   a1   c10              c11
 *   a2   c20              c21
 *   a3   c30              c31
 *
 * Per step p: load b0, b1; for each row i, broadcast A[i, p] and add a_i * b0, a_i * b1. Eight
 * accumulators + two B vectors + one broadcast are 11 of x86's 16 XMM registers, so nothing
 * spills (a 6 x 8 tile needs 15 and measured slower here: 21-24 against 34 GFLOP/s in cache).
 *
 * Params: ap (MR-row panels of A, kc x MR each), bp (NR-column panels of B, kc x NR each),
 * cp (C, row stride ldc bytes), mc and nc (multiples of MR and NR), kc >= 1.
 */
function gemmBlock(fma: boolean): Fn {
  const f = new Fn('gemmBlock', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [ap, bp, cp, ldc, mc, nc, kc] = [0, 1, 2, 3, 4, 5, 6];
  const jr = f.local('i32'); // first column of the current B panel and C tile
  const ir = f.local('i32'); // first row of the current A panel and C tile
  const a = f.local('i32');
  const b = f.local('i32');
  const bEnd = f.local('i32');
  const row = Array.from({ length: MR }, () => f.local('i32')); // address of C row i of the tile
  const acc = Array.from({ length: MR }, () => Array.from({ length: NR / LANES }, () => f.local('v128')));
  const bv = Array.from({ length: NR / LANES }, () => f.local('v128'));
  const av = f.local('v128');

  f.i32Const(0).localSet(jr);
  f.loop(() => {
    f.i32Const(0).localSet(ir);
    f.loop(() => {
      // Row addresses of this tile: cp + ir * ldc + jr * 4 + i * ldc.
      f.localGet(cp).localGet(ir).localGet(ldc).i32Mul().i32Add().localGet(jr).i32Const(4).i32Mul().i32Add().localSet(row[0]);
      for (let i = 1; i < MR; i++) f.localGet(row[i - 1]).localGet(ldc).i32Add().localSet(row[i]);
      for (let i = 0; i < MR; i++) for (let v = 0; v < NR / LANES; v++) f.localGet(row[i]).v128Load(16 * v).localSet(acc[i][v]);
      // a = ap + ir * kc * 4, b = bp + jr * kc * 4 (panels are kc deep), bEnd = b + kc * NR * 4.
      f.localGet(ap).localGet(ir).localGet(kc).i32Mul().i32Const(4).i32Mul().i32Add().localSet(a);
      f.localGet(bp).localGet(jr).localGet(kc).i32Mul().i32Const(4).i32Mul().i32Add().localTee(b);
      f.localGet(kc).i32Const(NR * 4).i32Mul().i32Add().localSet(bEnd);
      f.loop(() => {
        for (let v = 0; v < NR / LANES; v++) f.localGet(b).v128Load(16 * v).localSet(bv[v]);
        for (let i = 0; i < MR; i++) {
          f.localGet(a).v128Load32Splat(4 * i).localSet(av);
          for (let v = 0; v < NR / LANES; v++) {
            if (fma) f.localGet(av).localGet(bv[v]).localGet(acc[i][v]).f32x4RelaxedMadd();
            else f.localGet(acc[i][v]).localGet(av).localGet(bv[v]).f32x4Mul().f32x4Add();
            f.localSet(acc[i][v]);
          }
        }
        f.localGet(a).i32Const(MR * 4).i32Add().localSet(a);
        f.localGet(b).i32Const(NR * 4).i32Add().localTee(b);
        f.localGet(bEnd).i32LtU().brIf(0);
      });
      for (let i = 0; i < MR; i++) for (let v = 0; v < NR / LANES; v++) f.localGet(row[i]).localGet(acc[i][v]).v128Store(16 * v);
      f.localGet(ir).i32Const(MR).i32Add().localTee(ir);
      f.localGet(mc).i32LtU().brIf(0);
    });
    f.localGet(jr).i32Const(NR).i32Add().localTee(jr);
    f.localGet(nc).i32LtU().brIf(0);
  });
  return f;
}

/**
 * Emits the conversion of the i32x4 on the stack to f32x4. Each lane holds a 16-bit pattern in its
 * top half (bits << 16), which for bf16 already is the f32: nothing to do.
 *
 * f16 -> f32, exact for every pattern, in 9 operations for 4 values: with e = exponent, m =
 * mantissa, `(x & 0x7fff0000) >>> 3` is e and m moved into the f32 exponent and mantissa fields,
 * i.e. the f32 with exponent e - 127 instead of e - 15; multiplying by 2^112 re-biases it. That
 * also holds for f16 subnormals (e = 0: an f32 subnormal m * 2^-136, times 2^112 = m * 2^-24) and
 * zero. For e = 31 (inf, NaN) the product is 2^16 (1 + m/1024), exponent field 0x8f: OR-ing 0x70
 * into it in those lanes (found by one signed compare) makes it 0xff with m kept. The sign goes
 * back last. `x` and `em` are two v128 locals it overwrites.
 */
function emitHalfToF32(f: Fn, dtype: 'f16' | 'bf16', [x, em]: readonly [number, number]): void {
  if (dtype === 'bf16') return;
  f.localSet(x);
  f.localGet(x).i32x4Const(0x7fff0000).v128And().i32Const(3).i32x4ShrU().localTee(em);
  f.f32x4Const(2 ** 112).f32x4Mul(); // finite values
  f.localGet(em).i32x4Const(F16_LARGEST_FINITE).i32x4GtS().i32x4Const(0x38000000).v128And().v128Or(); // inf / NaN
  f.localGet(x).i32x4Const(0x80000000 | 0).v128And().v128Or(); // sign
}

/**
 * The dot kernels' f16 conversion, 2 operations for 4 values: the f16 in the top half of each i32
 * lane on the stack becomes `w * 2^112` as an f32. An arithmetic shift by 3 moves e and m into the
 * f32 exponent and mantissa fields and copies the sign into bits 28-30; OR-ing those three bits in
 * sets them for positive values too, so the exponent field is e + 224 = (e - 15) + 127 + 112: w *
 * 2^112 for e = 1 .. 30, and for e = 31 exactly inf or NaN (field 255, m kept). The kernels take the
 * 2^112 off each finished sum (F16_SUM_SCALE), which is exact while no partial sum reaches 2^16
 * (2^128 scaled: inf, and the driver reruns the product in JS).
 *
 * e = 0 (zeros and subnormals) gets field 224 too and reads as sign * 2^97 (1 + m/1024) where
 * w * 2^112 is sign * m * 2^88: wrong, but normal. Made right, it would be an f32 subnormal in
 * some scaling, and a multiply with a subnormal operand takes a slow path on x86; so these lanes
 * stay wrong here and the driver takes their error off each output (kernels/f16-zero-exponent.ts).
 */
function emitHalfToScaledF32(f: Fn): void {
  f.i32Const(3).i32x4ShrS().i32x4Const(0x70000000).v128Or();
}

/** What the f16 dot kernels multiply each sum by (see emitHalfToScaledF32). */
const F16_SUM_SCALE = 2 ** -112;

/** `(bits & 0x7fff) << 13` of the largest finite f16, 65504: anything above is inf or NaN. */
const F16_LARGEST_FINITE = 0x7bff << 13;

/**
 * Bytes of the i8x16 shuffle that puts halves `first..first+3` of the second operand into the top
 * of four i32 lanes, with the same lanes of a zero first operand below: exactly the 16-bit
 * interleave (x86 punpcklwd / punpckhwd) that V8 recognises. Any other zero bytes below would do
 * arithmetically, but V8 then emits a generic two-operand shuffle, measured 3x slower here.
 */
function halvesToHighLanes(first: number): number[] {
  return [0, 1, 2, 3].flatMap((i) => [2 * (first + i), 2 * (first + i) + 1, 16 + 2 * (first + i), 17 + 2 * (first + i)]);
}

/**
 * Panels from rows, transposed: `src` holds rows of at least kc elements, `rowBytes` apart (element
 * size 2 for f16 / bf16, 4 for f32; kc a multiple of PACK_STEP). Every `width` rows become one
 * panel at `dst` (f32, panel after panel, kc rows of `width`), as `gemmBlock` reads them:
 *
 * - width NR, `pack{F16,Bf16,F32}`: B panels from a k-contiguous B (the rows of a weight W [N, K],
 *   B = W^T; row j is column j of B), nc rows (a multiple of NR);
 * - width MR, `packAF32`: A panels from the rows of an f32 A, mc rows (a multiple of MR).
 *
 * Each step takes 4 values from each of the panel's rows, converts them, and transposes 4 x 4
 * blocks with shuffles into 4 rows of the panel.
 */
function packPanels(dtype: HalfOrF32, width: typeof MR | typeof NR): Fn {
  const name = `${width === MR ? 'packA' : 'pack'}${KERNEL_SUFFIX[dtype]}`;
  const f = new Fn(name, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [src, rowBytes, dst, kc, nc] = [0, 1, 2, 3, 4];
  const size = dtype === 'f32' ? 4 : 2;
  const panel = f.local('i32'); // address of the panel's first source row
  const panelEnd = f.local('i32');
  const s = f.local('i32'); // current source address in the first row of the panel
  const sEnd = f.local('i32');
  const d = f.local('i32');
  const v = Array.from({ length: width }, () => f.local('v128'));
  const t = Array.from({ length: 4 }, () => f.local('v128'));
  const scratch = [f.local('v128'), f.local('v128')] as const;

  f.localGet(src).localSet(panel);
  f.localGet(src).localGet(rowBytes).localGet(nc).i32Mul().i32Add().localSet(panelEnd);
  f.localGet(dst).localSet(d);
  f.loop(() => {
    f.localGet(panel).localTee(s).localGet(kc).i32Const(size).i32Mul().i32Add().localSet(sEnd);
    f.loop(() => {
      // v[j] = B[p:p+4, j] (4 consecutive k of source row j), as f32.
      for (let j = 0; j < width; j++) {
        f.localGet(s).localGet(rowBytes).i32Const(j).i32Mul().i32Add();
        if (dtype === 'f32') f.v128Load();
        else {
          f.v128Load16x4U().i32Const(16).i32x4Shl();
          emitHalfToF32(f, dtype, scratch);
        }
        f.localSet(v[j]);
      }
      // Transpose rows 0-3 (and 4-7): out row q holds B[p+q, 0:4] (and B[p+q, 4:8]).
      for (let half = 0; half < width / 4; half++) {
        const [r0, r1, r2, r3] = v.slice(4 * half, 4 * half + 4);
        f.localGet(r0).localGet(r1).f32x4Shuffle([0, 4, 1, 5]).localSet(t[0]); // r0[0] r1[0] r0[1] r1[1]
        f.localGet(r0).localGet(r1).f32x4Shuffle([2, 6, 3, 7]).localSet(t[1]); // r0[2] r1[2] r0[3] r1[3]
        f.localGet(r2).localGet(r3).f32x4Shuffle([0, 4, 1, 5]).localSet(t[2]);
        f.localGet(r2).localGet(r3).f32x4Shuffle([2, 6, 3, 7]).localSet(t[3]);
        const out = [
          [t[0], t[2], [0, 1, 4, 5]], // k = p:   r0[0] r1[0] r2[0] r3[0]
          [t[0], t[2], [2, 3, 6, 7]], // k = p+1
          [t[1], t[3], [0, 1, 4, 5]], // k = p+2
          [t[1], t[3], [2, 3, 6, 7]], // k = p+3
        ] as const;
        out.forEach(([x, y, lanes], q) => {
          f.localGet(d).localGet(x).localGet(y).f32x4Shuffle([...lanes]).v128Store(q * width * 4 + 16 * half);
        });
      }
      f.localGet(d).i32Const(PACK_STEP * width * 4).i32Add().localSet(d);
      f.localGet(s).i32Const(PACK_STEP * size).i32Add().localTee(s);
      f.localGet(sEnd).i32LtU().brIf(0);
    });
    f.localGet(panel).localGet(rowBytes).i32Const(width).i32Mul().i32Add().localTee(panel);
    f.localGet(panelEnd).i32LtU().brIf(0);
  });
  return f;
}

/**
 * B panels from an n-contiguous f32 B (row p holds B[p, 0:nc], `rowBytes` apart; nc a multiple of
 * NR): panel j's row p is B[p, 8j : 8j + 8], so each is two v128 copied as they are.
 */
function packRowMajorF32(): Fn {
  const f = new Fn('packRowMajorF32', ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [src, rowBytes, dst, kc, nc] = [0, 1, 2, 3, 4];
  const column = f.local('i32'); // address of the panel's first value in row 0
  const columnEnd = f.local('i32');
  const s = f.local('i32');
  const sEnd = f.local('i32');
  const d = f.local('i32');
  f.localGet(src).localTee(column).localGet(nc).i32Const(4).i32Mul().i32Add().localSet(columnEnd);
  f.localGet(dst).localSet(d);
  f.loop(() => {
    f.localGet(column).localTee(s).localGet(rowBytes).localGet(kc).i32Mul().i32Add().localSet(sEnd);
    f.loop(() => {
      for (const half of [0, 1]) f.localGet(d).localGet(s).v128Load(16 * half).v128Store(16 * half);
      f.localGet(d).i32Const(NR * 4).i32Add().localSet(d);
      f.localGet(s).localGet(rowBytes).i32Add().localTee(s);
      f.localGet(sEnd).i32LtU().brIf(0);
    });
    f.localGet(column).i32Const(NR * 4).i32Add().localTee(column);
    f.localGet(columnEnd).i32LtU().brIf(0);
  });
  return f;
}

/**
 * out[r, j] = dot(x[r, :], w[j, :]) for r < rows (1-4) and j < n: `x` is rows x k f32, `w` n rows of
 * k elements (k a multiple of DOT_STEP), `out` rows x n f32. Each weight row is read once, 16
 * elements per step (two v128 of halves, four of f32), converted in registers and multiplied into
 * every row of x, summed across lanes at the end of the row. f16 weights go through
 * emitHalfToScaledF32 (zeros and subnormals left for the driver to correct).
 *
 * Accumulators: one per four lanes of the step would make each add wait for the previous one (an
 * f32x4.add takes 3-4 cycles on x86), which bounds one row to about 5 G weights/s. So 1 or 2 rows
 * keep a v128 accumulator for each of the step's four quarters (4 or 8 registers); 3 or 4 rows
 * have enough independent chains with two each (6 or 8), and four each would spill.
 */
function dotRows(dtype: HalfOrF32, rows: number): Fn {
  const prefix = `dot${KERNEL_SUFFIX[dtype]}`;
  const f = new Fn(`${prefix}x${rows}`, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, w, out, k, n] = [0, 1, 2, 3, 4];
  const size = dtype === 'f32' ? 4 : 2;
  const chains = rows <= 2 ? 4 : 2; // accumulators per row
  const p = f.local('i32'); // byte offset into the x rows (4 per element)
  const q = f.local('i32'); // current weight address
  const rowStart = f.local('i32');
  const rowBytes = f.local('i32');
  const kBytes = f.local('i32');
  const o = f.local('i32');
  const oEnd = f.local('i32');
  const wv = f.local('v128'); // four weights of the step, as f32
  const acc = Array.from({ length: rows }, () => Array.from({ length: chains }, () => f.local('v128')));
  const raw = f.local('v128');
  const zero = f.local('v128');

  /** acc = the row's products, from the weight row at rowStart. */
  const rowLoop = () => {
    for (const chain of acc) for (const a of chain) f.f32x4Const(0).localSet(a);
    f.i32Const(0).localSet(p);
    f.localGet(rowStart).localSet(q);
    f.loop(() => {
      for (let quarter = 0; quarter < DOT_STEP / LANES; quarter++) {
        // wv = weights 4 * quarter .. 4 * quarter + 3 of the step, as f32.
        if (dtype === 'f32') {
          f.localGet(q).v128Load(16 * quarter).localSet(wv);
        } else {
          // 8 halves per load, spread into the top halves of i32 lanes by a shuffle, four at a time.
          if (quarter % 2 === 0) f.localGet(q).v128Load(16 * (quarter / 2)).localSet(raw);
          f.localGet(zero).localGet(raw).i8x16Shuffle(halvesToHighLanes(4 * (quarter % 2)));
          if (dtype === 'f16') emitHalfToScaledF32(f);
          f.localSet(wv);
        }
        acc.forEach((chain, r) => {
          // x row r, lanes 4 * quarter .. of the step, at x + r * kBytes + p.
          const a = chain[quarter % chains];
          f.localGet(a).localGet(x).localGet(p).i32Add();
          if (r > 0) f.localGet(kBytes).i32Const(r).i32Mul().i32Add();
          f.v128Load(16 * quarter).localGet(wv).f32x4Mul().f32x4Add().localSet(a);
        });
      }
      f.localGet(q).i32Const(DOT_STEP * size).i32Add().localSet(q);
      f.localGet(p).i32Const(DOT_STEP * 4).i32Add().localTee(p);
      f.localGet(kBytes).i32LtU().brIf(0);
    });
  };

  f.localGet(k).i32Const(4).i32Mul().localSet(kBytes);
  f.localGet(k).i32Const(size).i32Mul().localSet(rowBytes);
  f.i32x4Const(0).localSet(zero);
  f.localGet(w).localSet(rowStart);
  f.localGet(out).localTee(o).localGet(n).i32Const(4).i32Mul().i32Add().localSet(oEnd);
  f.loop(() => {
    rowLoop();
    acc.forEach((chain, r) => {
      // out[r, j] at o + r * n * 4; the sum of the chains' lanes.
      f.localGet(o);
      if (r > 0) f.localGet(n).i32Const(4 * r).i32Mul().i32Add();
      const [a0, ...rest] = chain;
      for (const a of rest) f.localGet(a0).localGet(a).f32x4Add().localSet(a0);
      emitLaneSum(f, a0);
      if (dtype === 'f16') f.f32Const(F16_SUM_SCALE).f32Mul();
      f.f32Store();
    });
    f.localGet(rowStart).localGet(rowBytes).i32Add().localSet(rowStart);
    f.localGet(o).i32Const(4).i32Add().localTee(o);
    f.localGet(oEnd).i32LtU().brIf(0);
  });
  return f;
}

/**
 * One row of x times four weight rows at a time: out[j + o] = dot(x, w[j + o, :]) for o < 4, j < n
 * (n a multiple of 4), `x` k f32, `w` n rows of k elements (k a multiple of DOT_STEP): the decode
 * step of a single token. Each quarter of x is loaded once for the four rows, so x is read at half
 * the rate of the weights' bytes, where `dotRows(dtype, 1)` reads 4 bytes of x for every 2-byte
 * weight: that rate held while x sat in L1, but LLaVA-7B's down_proj (k = 11008: a 44 KB x) ran
 * 40 % slower per weight byte than k = 4096. One accumulator per weight row (four chains) is what
 * the 16 registers leave room for. f16 as in dotRows.
 */
function dotFourRows(dtype: HalfOrF32): Fn {
  const prefix = `dot${KERNEL_SUFFIX[dtype]}`;
  const f = new Fn(`${prefix}x1w4`, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, w, out, k, n] = [0, 1, 2, 3, 4];
  const size = dtype === 'f32' ? 4 : 2;
  const p = f.local('i32'); // byte offset into x (4 per element)
  const q = f.local('i32'); // current weight address in the first of the four rows
  const rowStart = f.local('i32');
  const rowBytes = f.local('i32');
  const kBytes = f.local('i32');
  const o = f.local('i32');
  const oEnd = f.local('i32');
  const rowOffset = [0, 1, 2].map(() => f.local('i32')); // 1, 2 and 3 rows' bytes
  const acc = Array.from({ length: 4 }, () => f.local('v128'));
  const raw = Array.from({ length: 4 }, () => f.local('v128'));
  const xv = f.local('v128');
  const wv = f.local('v128');
  const zero = f.local('v128');

  /** Pushes the address of weight row `row`'s current step: q + row * rowBytes. */
  const rowAddress = (row: number) => {
    f.localGet(q);
    if (row > 0) f.localGet(rowOffset[row - 1]).i32Add();
  };

  /** acc[o] = row o's products. */
  const rowLoop = () => {
    for (const a of acc) f.f32x4Const(0).localSet(a);
    f.i32Const(0).localSet(p);
    f.localGet(rowStart).localSet(q);
    f.loop(() => {
      for (let quarter = 0; quarter < DOT_STEP / LANES; quarter++) {
        if (dtype !== 'f32' && quarter % 2 === 0) {
          for (let row = 0; row < 4; row++) {
            rowAddress(row);
            f.v128Load(16 * (quarter / 2)).localSet(raw[row]);
          }
        }
        f.localGet(x).localGet(p).i32Add().v128Load(16 * quarter).localSet(xv);
        for (let row = 0; row < 4; row++) {
          if (dtype === 'f32') {
            rowAddress(row);
            f.v128Load(16 * quarter);
          } else {
            f.localGet(zero).localGet(raw[row]).i8x16Shuffle(halvesToHighLanes(4 * (quarter % 2)));
            if (dtype === 'f16') emitHalfToScaledF32(f);
          }
          f.localSet(wv);
          f.localGet(acc[row]).localGet(xv).localGet(wv).f32x4Mul().f32x4Add().localSet(acc[row]);
        }
      }
      f.localGet(q).i32Const(DOT_STEP * size).i32Add().localSet(q);
      f.localGet(p).i32Const(DOT_STEP * 4).i32Add().localTee(p);
      f.localGet(kBytes).i32LtU().brIf(0);
    });
  };

  f.localGet(k).i32Const(4).i32Mul().localSet(kBytes);
  f.localGet(k).i32Const(size).i32Mul().localSet(rowBytes);
  rowOffset.forEach((r, i) => f.localGet(rowBytes).i32Const(i + 1).i32Mul().localSet(r));
  f.i32x4Const(0).localSet(zero);
  f.localGet(w).localSet(rowStart);
  f.localGet(out).localTee(o).localGet(n).i32Const(4).i32Mul().i32Add().localSet(oEnd);
  f.loop(() => {
    rowLoop();
    acc.forEach((a, row) => {
      f.localGet(o);
      emitLaneSum(f, a);
      if (dtype === 'f16') f.f32Const(F16_SUM_SCALE).f32Mul();
      f.f32Store(4 * row);
    });
    f.localGet(rowStart).localGet(rowBytes).i32Const(4).i32Mul().i32Add().localSet(rowStart);
    f.localGet(o).i32Const(16).i32Add().localTee(o);
    f.localGet(oEnd).i32LtU().brIf(0);
  });
  return f;
}

/**
 * Every kernel in one module; `fma` uses relaxed SIMD's fused multiply-add in the GEMM. `memory`:
 * the module's own, or an imported shared one (see assembler.ts).
 */
export function kernelModule(fma: boolean, memory: MemorySource = { pages: 1 }): Uint8Array {
  const dtypes: HalfOrF32[] = ['f16', 'bf16', 'f32'];
  return assemble([
    gemmBlock(fma),
    ...dtypes.map((d) => packPanels(d, NR)),
    packPanels('f32', MR),
    packRowMajorF32(),
    ...dtypes.flatMap((d) => [1, 2, 3, 4].map((rows) => dotRows(d, rows))),
    ...dtypes.map(dotFourRows),
    attendScores(),
    attendValues(),
    scoreBlock(),
    softmaxGradBlock(),
    accumulateBlock(),
  ], memory);
}

/** Whether this engine runs relaxed SIMD (Node 20 only behind a V8 flag): a one-instruction probe. */
export function relaxedSimdSupported(): boolean {
  const f = new Fn('probe', ['v128', 'v128', 'v128'], ['v128']);
  f.localGet(0).localGet(1).localGet(2).f32x4RelaxedMadd();
  return webAssembly?.validate(assemble([f])) ?? false;
}

/**
 * The two block products every tiled kernel is made of, register-tiled the way core's GEMM is, and
 * the backward's probabilities built on the first.
 *
 * - `scoreBlock`: S = scale * A B^T for a block of A rows and B rows (q and k in the forward; also
 *   dO and v for dP in the backward).
 * - `probabilityBlock`: P = exp(scale * A B^T - L) with one L per row, 0 past each row's visible
 *   keys (the backward rebuilding the forward's probabilities from its logsumexp).
 * - `accumulateBlock`: O += P X for a block of P and rows of X, with P read through strides, so
 *   the backward's P^T dO and dS^T Q use it too (P transposed is the same block, strides swapped).
 *
 * Inputs are f32 rows at any row stride (the caller's views, see head-rows.ts); sums and
 * accumulators are doubles.
 */

/**
 * s[r * ld + j] = scale * (q row r) . (k row j) for r < rows, j < cols; q rows start at `qAt`,
 * `qStride` apart, k rows at `kAt`, `kStride` apart. A 4 x 4 block of scores lives in 16 locals
 * while the loop over D runs, so each loaded value is used four times (register tiling, as in
 * core's GEMM); the columns past a multiple of 4 take a plain loop, the rows past it `scoreRow`.
 */
export function scoreBlock(
  qd: Float32Array, qAt: number, qStride: number, kd: Float32Array, kAt: number, kStride: number,
  rows: number, cols: number, d: number, scale: number, s: Float64Array, ld: number,
): void {
  const rows4 = rows - (rows % 4);
  const cols4 = cols - (cols % 4);
  for (let r = 0; r < rows4; r += 4) {
    const q0 = qAt + r * qStride;
    const q1 = q0 + qStride;
    const q2 = q1 + qStride;
    const q3 = q2 + qStride;
    for (let j = 0; j < cols4; j += 4) {
      const k0 = kAt + j * kStride;
      const k1 = k0 + kStride;
      const k2 = k1 + kStride;
      const k3 = k2 + kStride;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let c = 0; c < d; ) {
        const a0 = qd[q0 + c];
        const a1 = qd[q1 + c];
        const a2 = qd[q2 + c];
        const a3 = qd[q3 + c];
        const b0 = kd[k0 + c];
        const b1 = kd[k1 + c];
        const b2 = kd[k2 + c];
        const b3 = kd[k3 + c];
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
        c++;
      }
      let o = r * ld + j;
      s[o] = s00 * scale; s[o + 1] = s01 * scale; s[o + 2] = s02 * scale; s[o + 3] = s03 * scale;
      o += ld;
      s[o] = s10 * scale; s[o + 1] = s11 * scale; s[o + 2] = s12 * scale; s[o + 3] = s13 * scale;
      o += ld;
      s[o] = s20 * scale; s[o + 1] = s21 * scale; s[o + 2] = s22 * scale; s[o + 3] = s23 * scale;
      o += ld;
      s[o] = s30 * scale; s[o + 1] = s31 * scale; s[o + 2] = s32 * scale; s[o + 3] = s33 * scale;
    }
  }
  // Edges: the columns past cols4 of the block rows, then the rows past rows4 (a decode step's
  // single row goes here) four keys at a time.
  for (let r = 0; r < rows4; r++) {
    const q0 = qAt + r * qStride;
    for (let j = cols4; j < cols; j++) {
      const k0 = kAt + j * kStride;
      let dot = 0;
      for (let c = 0; c < d; c++) dot += qd[q0 + c] * kd[k0 + c];
      s[r * ld + j] = dot * scale;
    }
  }
  for (let r = rows4; r < rows; r++) scoreRow(qd, qAt + r * qStride, kd, kAt, kStride, d, cols, scale, s, r * ld);
}

/** s[at + j] = scale * (q row) . (k row j) for j < count, four keys at a time. */
function scoreRow(
  qd: Float32Array, qAt: number, kd: Float32Array, kAt: number, kStride: number, d: number,
  count: number, scale: number, s: Float64Array, at: number,
): void {
  const count4 = count - (count % 4);
  for (let j = 0; j < count4; j += 4) {
    const k0 = kAt + j * kStride;
    const k1 = k0 + kStride;
    const k2 = k1 + kStride;
    const k3 = k2 + kStride;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let c = 0; c < d; c++) {
      const x = qd[qAt + c];
      s0 += x * kd[k0 + c];
      s1 += x * kd[k1 + c];
      s2 += x * kd[k2 + c];
      s3 += x * kd[k3 + c];
    }
    s[at + j] = s0 * scale;
    s[at + j + 1] = s1 * scale;
    s[at + j + 2] = s2 * scale;
    s[at + j + 3] = s3 * scale;
  }
  for (let j = count4; j < count; j++) {
    const k0 = kAt + j * kStride;
    let dot = 0;
    for (let c = 0; c < d; c++) dot += qd[qAt + c] * kd[k0 + c];
    s[at + j] = dot * scale;
  }
}

/**
 * p[r * ld + j] = exp(scale * (a row r) . (b row j) - shift[shiftAt + r]) for j < seen(r), and 0 for
 * seen(r) <= j < cols (keys the row does not see). `seen(r)` is 0 for a row that sees no key.
 */
export function probabilityBlock(
  ad: Float32Array, aAt: number, aStride: number, bd: Float32Array, bAt: number, bStride: number,
  rows: number, cols: number, d: number, scale: number, shift: Float32Array, shiftAt: number,
  seen: (r: number) => number, p: Float64Array, ld: number,
): void {
  scoreBlock(ad, aAt, aStride, bd, bAt, bStride, rows, cols, d, scale, p, ld);
  for (let r = 0; r < rows; r++) {
    const l = shift[shiftAt + r];
    const n = seen(r);
    for (let j = 0; j < n; j++) p[r * ld + j] = Math.exp(p[r * ld + j] - l);
    p.fill(0, r * ld + n, r * ld + cols);
  }
}

/**
 * o[r] += sum_j p[r * pRow + j * pCol] * (x row j) for r < rows, j < cols; o rows are `d` apart, x
 * rows start at `xAt`, `xStride` apart. The forward passes (pRow, pCol) = (ld, 1); P^T is (1, ld).
 * Four output rows and four x rows at a time: per element of D, four loads of x serve sixteen
 * multiply-adds (measured against two rows at a time on T 640, D 128: the forward 12-25 % faster,
 * the backward 4-26 %, on a loaded machine); a leftover pair of rows takes a two-row loop.
 */
export function accumulateBlock(
  o: Float64Array, d: number, p: Float64Array, pRow: number, pCol: number, rows: number, cols: number,
  xd: Float32Array, xAt: number, xStride: number,
): void {
  const rows2 = rows - (rows % 2);
  const rows4 = rows - (rows % 4);
  const cols4 = cols - (cols % 4);
  for (let r = 0; r < rows4; r += 4) {
    const o0 = r * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    const pr0 = r * pRow;
    for (let j = 0; j < cols4; j += 4) {
      const a0 = pr0 + j * pCol;
      const a1 = a0 + pRow;
      const a2 = a1 + pRow;
      const a3 = a2 + pRow;
      const p00 = p[a0], p01 = p[a0 + pCol], p02 = p[a0 + 2 * pCol], p03 = p[a0 + 3 * pCol];
      const p10 = p[a1], p11 = p[a1 + pCol], p12 = p[a1 + 2 * pCol], p13 = p[a1 + 3 * pCol];
      const p20 = p[a2], p21 = p[a2 + pCol], p22 = p[a2 + 2 * pCol], p23 = p[a2 + 3 * pCol];
      const p30 = p[a3], p31 = p[a3 + pCol], p32 = p[a3 + 2 * pCol], p33 = p[a3 + 3 * pCol];
      const x0 = xAt + j * xStride;
      const x1 = x0 + xStride;
      const x2 = x1 + xStride;
      const x3 = x2 + xStride;
      for (let c = 0; c < d; ) {
        const b0 = xd[x0 + c];
        const b1 = xd[x1 + c];
        const b2 = xd[x2 + c];
        const b3 = xd[x3 + c];
        o[o0 + c] += p00 * b0 + p01 * b1 + p02 * b2 + p03 * b3;
        o[o1 + c] += p10 * b0 + p11 * b1 + p12 * b2 + p13 * b3;
        o[o2 + c] += p20 * b0 + p21 * b1 + p22 * b2 + p23 * b3;
        o[o3 + c] += p30 * b0 + p31 * b1 + p32 * b2 + p33 * b3;
        c++;
      }
    }
  }
  for (let r = rows4; r < rows2; r += 2) {
    const o0 = r * d;
    const o1 = o0 + d;
    const pr0 = r * pRow;
    const pr1 = pr0 + pRow;
    for (let j = 0; j < cols4; j += 4) {
      const a0 = pr0 + j * pCol;
      const a1 = pr1 + j * pCol;
      const p00 = p[a0], p01 = p[a0 + pCol], p02 = p[a0 + 2 * pCol], p03 = p[a0 + 3 * pCol];
      const p10 = p[a1], p11 = p[a1 + pCol], p12 = p[a1 + 2 * pCol], p13 = p[a1 + 3 * pCol];
      const x0 = xAt + j * xStride;
      const x1 = x0 + xStride;
      const x2 = x1 + xStride;
      const x3 = x2 + xStride;
      for (let c = 0; c < d; ) {
        const b0 = xd[x0 + c];
        const b1 = xd[x1 + c];
        const b2 = xd[x2 + c];
        const b3 = xd[x3 + c];
        o[o0 + c] += p00 * b0 + p01 * b1 + p02 * b2 + p03 * b3;
        o[o1 + c] += p10 * b0 + p11 * b1 + p12 * b2 + p13 * b3;
        c++;
      }
    }
  }
  // Edges: the x rows past cols4 for those rows, then a last odd row (a decode step's single
  // row goes here) four x rows at a time.
  for (let r = 0; r < rows2; r++) {
    for (let j = cols4; j < cols; j++) {
      const pj = p[r * pRow + j * pCol];
      const x0 = xAt + j * xStride;
      for (let c = 0; c < d; c++) o[r * d + c] += pj * xd[x0 + c];
    }
  }
  if (rows2 < rows) accumulateRow(o, rows2 * d, p, rows2 * pRow, pCol, cols, xd, xAt, xStride, d);
}

/** o row += sum_j p[at + j * step] * (x row j) for j < count, four x rows at a time. */
function accumulateRow(
  o: Float64Array, oAt: number, p: Float64Array, at: number, step: number, count: number,
  xd: Float32Array, xAt: number, xStride: number, d: number,
): void {
  const count4 = count - (count % 4);
  for (let j = 0; j < count4; j += 4) {
    const a = at + j * step;
    const p0 = p[a];
    const p1 = p[a + step];
    const p2 = p[a + 2 * step];
    const p3 = p[a + 3 * step];
    const x0 = xAt + j * xStride;
    const x1 = x0 + xStride;
    const x2 = x1 + xStride;
    const x3 = x2 + xStride;
    for (let c = 0; c < d; c++) o[oAt + c] += p0 * xd[x0 + c] + p1 * xd[x1 + c] + p2 * xd[x2 + c] + p3 * xd[x3 + c];
  }
  for (let j = count4; j < count; j++) {
    const pj = p[at + j * step];
    const x0 = xAt + j * xStride;
    for (let c = 0; c < d; c++) o[oAt + c] += pj * xd[x0 + c];
  }
}

/**
 * Test helpers shared by every package (`import { expectClose } from '@adsc/core/testing'`).
 * Framework-free: a failed check throws an Error that says where and by how much.
 */
import { readFileSync } from 'node:fs';
import { formatShape } from './shape.js';
import { Tensor, tensor } from './tensor.js';

export interface Tolerance {
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance (default 0). */
  rtol?: number;
}

type Values = Tensor | ArrayLike<number>;

function flat(v: Values): ArrayLike<number> {
  return v instanceof Tensor ? v.toFloat32Array() : v;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise (torch.allclose), shapes
 * equal when both are tensors, NaN only where NaN is expected.
 */
export function expectClose(actual: Values, expected: Values, { atol = 1e-6, rtol = 0 }: Tolerance = {}): void {
  if (actual instanceof Tensor && expected instanceof Tensor && formatShape(actual.shape) !== formatShape(expected.shape)) {
    throw new Error(`expectClose: shape ${formatShape(actual.shape)} != expected ${formatShape(expected.shape)}`);
  }
  const a = flat(actual);
  const e = flat(expected);
  if (a.length !== e.length) throw new Error(`expectClose: ${a.length} values != expected ${e.length}`);
  let bad = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i] - e[i]);
    const limit = atol + rtol * Math.abs(e[i]);
    const ok = Number.isNaN(e[i]) ? Number.isNaN(a[i]) : a[i] === e[i] || diff <= limit;
    if (!ok) {
      bad++;
      const excess = Number.isNaN(diff) ? Infinity : diff - limit;
      if (excess > worstExcess) [worst, worstExcess] = [i, excess];
    }
  }
  if (bad > 0) {
    throw new Error(
      `expectClose: ${bad} of ${a.length} values differ (atol ${atol}, rtol ${rtol}); ` +
        `worst at flat index ${worst}: got ${a[worst]}, expected ${e[worst]}`,
    );
  }
}

/**
 * Reads a golden-fixture JSON file written by a generator script: `{ name: { shape, data } }`,
 * data flat row-major; returns f32 tensors by name.
 */
export function readGolden(path: string | URL): Record<string, Tensor> {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { shape: number[]; data: number[] }>;
  return Object.fromEntries(
    Object.entries(raw).map(([name, { shape, data }]) => [name, tensor(data.map(decodeSpecial), shape)]),
  );
}

/** JSON has no NaN or infinities; generators write them as strings. */
function decodeSpecial(v: number | string): number {
  return typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v);
}

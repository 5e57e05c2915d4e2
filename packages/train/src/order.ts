/**
 * The order in which training visits its examples: a fresh seeded permutation every epoch, cut
 * into batches.
 *
 * Everything is a pure function of (count, seed, epoch), so a resumed run needs no saved
 * generator state: the batch of micro-step k is `batchAt(k, ...)`, whatever ran before.
 */
import { mulberry32 } from '@adsc/core';

/** A permutation of 0..count-1: Fisher-Yates driven by mulberry32, seeded from (seed, epoch). */
export function epochOrder(count: number, seed: number, epoch: number): Int32Array {
  checkCount('epochOrder', 'count', count, 0);
  checkCount('epochOrder', 'epoch', epoch, 0);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`epochOrder: seed must be an integer, not ${seed}`);
  // Each epoch gets its own stream: the seed mixed with the epoch times the 32-bit golden ratio.
  const uniform = mulberry32(((seed >>> 0) ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0);
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Batches per epoch: the last one of an epoch holds the remainder (nothing is dropped). */
export function batchesPerEpoch(count: number, batchSize: number): number {
  checkCount('batchesPerEpoch', 'count', count, 1);
  checkCount('batchesPerEpoch', 'batchSize', batchSize, 1);
  return Math.ceil(count / batchSize);
}

export interface DataOrderOptions {
  /** Examples in the data set. */
  count: number;
  seed: number;
  /** Examples per batch (per micro-step, with gradient accumulation). */
  batchSize: number;
}

/**
 * Batch number `index` (from 0, counting on across epochs): its epoch and the example indices it
 * holds, the `index mod batchesPerEpoch`-th slice of that epoch's order.
 */
export function batchAt(index: number, { count, seed, batchSize }: DataOrderOptions): { epoch: number; indices: Int32Array } {
  checkCount('batchAt', 'index', index, 0);
  const perEpoch = batchesPerEpoch(count, batchSize);
  const epoch = Math.floor(index / perEpoch);
  const start = (index % perEpoch) * batchSize;
  return { epoch, indices: epochOrder(count, seed, epoch).slice(start, Math.min(start + batchSize, count)) };
}

function checkCount(who: string, name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${who}: ${name} must be an integer >= ${min}, not ${value}`);
}

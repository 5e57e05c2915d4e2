/**
 * What a token-reduction schedule can do to a prefill, and nothing more:
 * - `beforeLayer`: return a shorter sequence before a decoder layer runs (drop vision tokens);
 * - `needsProbs`: ask a layer to run the reference attention and hand over its probabilities
 *   (FastV ranks tokens by them; a FlashAttention-style kernel cannot provide them);
 * - `afterLayer`: receive those probabilities.
 * Decode steps are never reduced: they attend to whatever each layer cached during prefill.
 */
import type { Tensor } from '@adsc/core';
import type { Llava } from '../llava.js';
import type { Sequence } from '../sequence.js';

export interface Schedule {
  /** The spec it was parsed from, e.g. "adsc:2=0.5,3=0.5" or "none". */
  readonly spec: string;
  beforeLayer?(layer: number, seq: Sequence, model: Llava): Sequence | undefined;
  needsProbs?(layer: number): boolean;
  afterLayer?(layer: number, seq: Sequence, probs: Tensor): void;
}

/** The unreduced model. */
export const NO_SCHEDULE: Schedule = { spec: 'none' };

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/** Parses a --schedule spec. */
export function parseSchedule(spec: string): Schedule {
  if (spec.trim() === 'none') return NO_SCHEDULE;
  throw new ScheduleError(`unknown schedule ${JSON.stringify(spec)} (known: none)`);
}

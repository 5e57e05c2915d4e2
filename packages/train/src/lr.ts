/**
 * Learning-rate schedules, as Hugging Face's get_constant_schedule_with_warmup and
 * get_cosine_schedule_with_warmup (num_cycles 0.5) compute them.
 *
 * `step` counts optimizer steps from 0, as the scheduler's `current_step`: the Trainer reads the
 * rate for step k before it calls scheduler.step() the k-th time, so with warmup the very first
 * step runs at lr 0, as it does there.
 */

export type LrScheduleName = 'constant' | 'cosine';

export interface LrScheduleOptions {
  /** The peak rate, reached at the end of warmup. */
  base: number;
  /** Steps of linear warmup from 0 (0 = none). */
  warmupSteps: number;
  /** All optimizer steps of the run; cosine reaches 0 here. */
  totalSteps: number;
}

/**
 * The rate of optimizer step `step`:
 * - warmup (step < warmupSteps): base * step / warmupSteps
 * - constant: base
 * - cosine: base * 0.5 * (1 + cos(pi * progress)), progress = (step - warmup) / (total - warmup)
 */
export function learningRate(schedule: LrScheduleName, step: number, { base, warmupSteps, totalSteps }: LrScheduleOptions): number {
  if (!Number.isFinite(base) || base < 0) throw new RangeError(`learningRate: base must be a number >= 0, not ${base}`);
  if (!Number.isSafeInteger(totalSteps) || totalSteps < 1) throw new RangeError(`learningRate: totalSteps must be an integer >= 1, not ${totalSteps}`);
  if (!Number.isSafeInteger(warmupSteps) || warmupSteps < 0 || warmupSteps > totalSteps) {
    throw new RangeError(`learningRate: warmupSteps must be an integer in [0, totalSteps = ${totalSteps}], not ${warmupSteps}`);
  }
  if (!Number.isSafeInteger(step) || step < 0 || step > totalSteps) {
    throw new RangeError(`learningRate: step must be an integer in [0, totalSteps = ${totalSteps}], not ${step}`);
  }
  if (step < warmupSteps) return (base * step) / warmupSteps;
  switch (schedule) {
    case 'constant':
      return base;
    case 'cosine': {
      const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
      return base * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
    default:
      throw new RangeError(`learningRate: unknown schedule ${JSON.stringify(schedule)} (constant | cosine)`);
  }
}

/**
 * The random stream of training-time ops (dropout): one seeded generator whose position can be
 * saved and restored, so that a checkpointed segment recomputed in the backward pass draws the
 * same masks as its forward did.
 */
let state = 0x9e3779b9;

/** Restarts the stream (a training run seeds it once). */
export function seedRandom(seed: number): void {
  state = seed >>> 0;
}

export function getRandomState(): number {
  return state;
}

export function setRandomState(s: number): void {
  state = s;
}

/** The next uniform number in [0, 1) (mulberry32 step). */
export function nextUniform(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 15), z | 1);
  z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
  return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
}

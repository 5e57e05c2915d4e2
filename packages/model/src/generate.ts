/**
 * Text generation: prefill the prompt once, then decode one token at a time.
 *
 * Greedy by default; with a temperature, tokens are sampled from softmax(logits / temperature),
 * restricted to the smallest set whose probability reaches top-p, from a seeded generator so a run
 * can be repeated. Generation stops after an end-of-sequence token or `maxNewTokens`.
 */
import { mulberry32 } from '@adsc/core';
import type { ImageInput, Llava, PrefillResult } from './llava.js';
import { NO_SCHEDULE, type Schedule } from './schedule/schedule.js';

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 (default) is greedy. */
  temperature?: number;
  /** Nucleus size in (0, 1]; default 1 (no restriction). */
  topP?: number;
  seed?: number;
  schedule?: Schedule;
  /** Called with each new token as soon as it is chosen. */
  onToken?: (id: number) => void;
}

export interface Timings {
  vision: number; // ms
  prefill: number; // ms
  decode: number[]; // ms per step
}

export interface GenerateResult extends Omit<PrefillResult, 'logits' | 'cache'> {
  inputIds: number[];
  outputIds: number[];
  /** Logits of the last prompt position. */
  prefillLogits: Float32Array;
  /** Elements held in all K and V caches right after prefill. */
  kvCacheElements: number;
  /** Tokens in the decoder's input sequence (the prompt with the image spliced in). */
  promptTokens: number;
  timings: Timings;
}

export function generate(model: Llava, inputIds: readonly number[], image: ImageInput | undefined, opts: GenerateOptions = {}): GenerateResult {
  const { maxNewTokens = 32, temperature = 0, topP = 1, seed = 0, schedule = NO_SCHEDULE } = opts;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new RangeError(`maxNewTokens must be an integer >= 0, got ${maxNewTokens}`);
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
  const choose = temperature > 0 ? sampler(temperature, topP, seed) : argmax;

  let t0 = performance.now();
  const features = image === undefined ? undefined : model.imageFeatures(image);
  const vision = performance.now() - t0;

  t0 = performance.now();
  const prompt = model.embedPrompt(inputIds, features);
  // Room for every token the decode steps may append: a 7B cache grown by half is a copy of 0.6 GB.
  const { logits, cache, ...stats } = model.prefill(prompt, schedule, Math.max(0, maxNewTokens - 1));
  const prefill = performance.now() - t0;
  const kvCacheElements = cache.elements;

  const outputIds: number[] = [];
  const decode: number[] = [];
  let next = logits;
  try {
    while (outputIds.length < maxNewTokens) {
      const id = choose(next);
      outputIds.push(id);
      opts.onToken?.(id);
      if (model.config.eosTokenIds.includes(id) || outputIds.length === maxNewTokens) break;
      t0 = performance.now();
      next = model.decodeStep(id, cache);
      decode.push(performance.now() - t0);
    }
  } finally {
    // A 7B's cache is hundreds of MB in wasm arenas, and an evaluation loop never waits for the GC.
    cache.release();
  }
  return {
    inputIds: [...inputIds],
    outputIds,
    prefillLogits: logits,
    kvCacheElements,
    promptTokens: prompt.hidden.shape[0],
    ...stats,
    timings: { vision, prefill, decode },
  };
}

/** Index of the largest logit (the first on ties). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Temperature + top-p sampling from a seeded stream. */
export function sampler(temperature: number, topP: number, seed: number): (logits: Float32Array) => number {
  const uniform = mulberry32(seed);
  return (logits) => {
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    const probs = Array.from(logits, (v, id) => ({ id, p: Math.exp((v - max) / temperature) }));
    const total = probs.reduce((s, x) => s + x.p, 0);
    probs.sort((a, b) => b.p - a.p || a.id - b.id);
    // Keep the most likely tokens until their mass reaches topP (at least one).
    let mass = 0;
    let keep = 0;
    while (keep < probs.length && (keep === 0 || mass < topP * total)) mass += probs[keep++].p;
    let r = uniform() * mass;
    for (let i = 0; i < keep; i++) {
      r -= probs[i].p;
      if (r < 0) return probs[i].id;
    }
    return probs[keep - 1].id;
  };
}

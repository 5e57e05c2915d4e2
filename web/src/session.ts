/**
 * One question about one image, answered the way `adsc run` answers it (same prompt template,
 * preprocessing, greedy decoding, at most 3 new tokens), with what the page draws: the vision tokens
 * each decoder layer kept and the counted cost against the same prompt without a schedule.
 *
 * No DOM and no Node API: the page runs it in the browser, and the tests run it in Node.
 */
import {
  countRun, formatPrompt, generate, parseSchedule,
  type Llava, type LlavaTokenizer, type RgbImage, type Timings,
} from '@adsc/model';
import { generateShapes, renderScene, type ShapesRecord } from '@adsc/shapes';

export interface Answer {
  answer: string;
  schedule: string;
  tokensPerLayer: number[];
  visionTokensPerLayer: number[];
  /** For each decoder layer, the image features (patch indices, row-major) its vision tokens are. */
  keptPerLayer: number[][];
  /** Layers that ran the reference attention because the schedule ranks by its probabilities. */
  referenceAttentionLayers: number[];
  /** Counted prefill FLOPs and KV elements, scheduled and without a schedule. */
  flops: { scheduled: number; baseline: number };
  /** The decoder layers' share of them (what a schedule can shorten). */
  decoderFlops: { scheduled: number; baseline: number };
  kv: { scheduled: number; baseline: number };
  timings: Timings;
}

/** Answers `question` about `image` under `scheduleSpec` (`adsc run --max-new-tokens 3`). */
export function ask(model: Llava, tokenizer: LlavaTokenizer, image: RgbImage, question: string, scheduleSpec: string): Answer {
  const cfg = model.config;
  const schedule = parseSchedule(scheduleSpec, { numLayers: cfg.text.numLayers });
  const ids = tokenizer.encode(formatPrompt('llava-hf', question, true));
  const result = generate(model, ids, model.pixels(image), { maxNewTokens: 3, schedule });
  const cost = countRun(cfg, schedule, result);
  return {
    answer: tokenizer.decode(result.outputIds),
    schedule: schedule.spec,
    tokensPerLayer: result.tokensPerLayer,
    visionTokensPerLayer: result.visionTokensPerLayer,
    keptPerLayer: result.visionIndicesPerLayer.map((kept) => Array.from(kept)),
    referenceAttentionLayers: result.referenceAttentionLayers,
    flops: { scheduled: cost.scheduled.total, baseline: cost.baseline.total },
    decoderFlops: { scheduled: cost.scheduled.decoder, baseline: cost.baseline.decoder },
    kv: { scheduled: cost.scheduled.kvCacheElements, baseline: cost.baseline.kvCacheElements },
    timings: result.timings,
  };
}

/** The scene of `adsc data shapes --seed S --count 1 --objects MIN-MAX --sizes ...`: its first record and pixels. */
export function scene(seed: number, objects: readonly [number, number], sizes: readonly number[]): { record: ShapesRecord; image: RgbImage } {
  const [record] = generateShapes({ seed, count: 1, layout: { minObjects: objects[0], maxObjects: objects[1], sizes } });
  return { record, image: renderScene(record.scene) };
}

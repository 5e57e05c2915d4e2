/**
 * Runs a LLaVA model over a VQA set and tallies what it gets right and what it costs.
 *
 * Each question is one greedy `generate` with the model's own prompt template and at most
 * `maxNewTokens` new tokens (the answers are one word and </s>); the decoded text, special tokens
 * skipped, is compared with the reference by exact match after trimming and lower-casing. Cost is
 * the prefill's counted FLOPs and the KV-cache elements held after it (accounting.ts), for the
 * tokens each layer really processed, and for the same prompt without a schedule: their ratio is
 * the reduction.
 *
 * `evaluate` takes an already loaded `Llava`, so a caller can change the model first (for example
 * merge a LoRA adapter into it) and evaluate the result the same way.
 *
 * A record without an image is asked as text alone (no image token, no vision tokens; its cost is
 * the text's). Blind mode answers without the image: the pixel values are all zero, which is the image
 * normalisation's mean colour everywhere. The model still gets its full run of vision tokens, so
 * the prompt, the token count and the cost are unchanged; only the information is gone.
 *
 * A record whose image is given as patch words (dataset.ts) is asked with their embeddings as its
 * vision tokens (Llava.embedPatchWords); blind, every patch has no words. Its cost is counted as
 * for an image, the tower's included: what a model that saw the picture would pay.
 */
import { join } from 'node:path';
import { zeros, type Tensor } from '@adsc/core';
import {
  NO_SCHEDULE, countRun, formatPrompt, generate, numPatches, readImage,
  type ImageInput, type Llava, type LlavaTokenizer, type Schedule, type TemplateName,
} from '@adsc/model';
import { DatasetError, type EvalRecord } from './dataset.js';
import { addScored, emptyTally, type Scored, type Tally } from './score.js';

export interface EvaluateOptions {
  /** Folder the records' image paths are relative to. */
  imageFolder: string;
  schedule?: Schedule;
  blind?: boolean;
  /** Default 3: the answer word, </s>, and one token to spare. */
  maxNewTokens?: number;
  /** Default: 'llava-hf' for a llava-hf checkpoint, else 'vicuna_v1'. */
  template?: TemplateName;
  /** Called after each question, e.g. for a progress bar. */
  onScored?: (record: EvalRecord, result: { prediction: string; correct: boolean }, done: number) => void;
}

export function evaluate(model: Llava, tokenizer: LlavaTokenizer, records: readonly EvalRecord[], opts: EvaluateOptions): Tally {
  const { schedule = NO_SCHEDULE, blind = false, maxNewTokens = 3 } = opts;
  const cfg = model.config;
  const template = opts.template ?? (cfg.layout === 'llava-hf' ? 'llava-hf' : 'vicuna_v1');
  const blank = blind ? blindPixels(model) : undefined;
  const tally = emptyTally();
  const start = performance.now();
  records.forEach((record, i) => {
    const image = record.image !== undefined || record.patchWords !== undefined;
    const ids = tokenizer.encode(formatPrompt(template, record.question, image));
    const r = generate(model, ids, imageInput(model, tokenizer, record, opts.imageFolder, blank), { maxNewTokens, schedule });
    const prediction = r.outputIds.length > 0 ? tokenizer.decode(r.outputIds) : '';
    const { scheduled: counted, baseline: full } = countRun(cfg, schedule, r, { image });
    const scored: Scored = {
      type: record.type,
      answer: record.answer,
      prediction,
      flops: { scheduled: counted.total, baseline: full.total },
      decoderFlops: { scheduled: counted.decoder, baseline: full.decoder },
      kv: { scheduled: counted.kvCacheElements, baseline: full.kvCacheElements },
    };
    const correct = addScored(tally, scored);
    opts.onScored?.(record, { prediction, correct }, i + 1);
  });
  tally.seconds = (performance.now() - start) / 1000;
  return tally;
}

/**
 * What the record's image token stands for: its image's pixels (or `blank`'s), its patch words as
 * ids (none at all when blind: every patch zero), or nothing for a text-only question.
 */
function imageInput(model: Llava, tokenizer: LlavaTokenizer, record: EvalRecord, folder: string, blank: Tensor | undefined): ImageInput | undefined {
  if (record.patchWords !== undefined) {
    const p = numPatches(model.config.vision);
    if (record.patchWords.length !== p) throw new DatasetError(`record ${record.id}: "patch_words" has ${record.patchWords.length} entries, but the model has ${p} vision tokens`);
    return blank ? record.patchWords.map(() => []) : tokenizer.encodePatchWords(record.patchWords);
  }
  if (record.image === undefined) return undefined;
  return blank ?? model.pixels(readImage(join(folder, record.image)));
}

/** Pixel values [3, S, S] of no image: all zero, i.e. the normalisation's mean colour everywhere. */
export function blindPixels(model: Llava): Tensor {
  const s = model.config.vision.imageSize;
  return zeros([3, s, s]);
}

/** Every `count`-th record starting at the `index`-th (0-based): shard `index` of `count`. */
export function shard<T>(items: readonly T[], index: number, count: number): T[] {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`shard ${index}/${count}: needs integers with 0 <= index < count`);
  }
  return items.filter((_, i) => i % count === index);
}

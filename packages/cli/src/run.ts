/**
 * `adsc run --model DIR [--image FILE] (--prompt TEXT | --input-ids 1,2,3) [--max-new-tokens N]
 *           [--schedule SPEC] [--temperature T --top-p P --seed S] [--threads N] [--force] [--json]`
 *
 * Loads a LLaVA-1.5 checkpoint (llava-hf or original layout), preprocesses the image, builds the
 * prompt with the model's template, generates, and prints the answer with what the decoder did:
 * tokens per layer, KV cache size, timings. `--json` prints all of it as one object.
 */
import { applyAdapter, loadAdapter } from '@adsc/train';
import { existsSync } from 'node:fs';
import { setNumThreads, type Tensor } from '@adsc/core';
import {
  Llava, LlavaTokenizer, cappedThreads, checkContext, countRun, formatPrompt, generate, parseSchedule, promptPositions,
  readConfig, readImage,
  type GenerateResult, type PositionMode, type PrefillCount, type TemplateName,
} from '@adsc/model';
import { UsageError } from './errors.js';

export interface RunOptions {
  model: string;
  image?: string;
  prompt?: string;
  inputIds?: string;
  maxNewTokens: number;
  /** Default: the adapter's adsc_schedule, else none. */
  schedule?: string;
  /** A PEFT LoRA adapter directory to apply to the model. */
  adapter?: string;
  temperature: number;
  topP: number;
  seed: number;
  threads?: number;
  template?: string;
  positions?: string;
  /** Load the model even when the memory plan says it will not fit. */
  force?: boolean;
  json: boolean;
}

export function run(opts: RunOptions, out: (line: string) => void, err: (line: string) => void = () => {}): void {
  if ((opts.prompt === undefined) === (opts.inputIds === undefined)) throw new UsageError('adsc run needs exactly one of --prompt and --input-ids');
  if (!existsSync(opts.model)) throw new UsageError(`--model ${opts.model}: no such directory`);
  if (opts.positions !== undefined && opts.positions !== 'original' && opts.positions !== 'renumber') {
    throw new UsageError(`--positions must be original or renumber, got ${JSON.stringify(opts.positions)}`);
  }
  if (!(opts.temperature >= 0)) throw new UsageError(`--temperature must be >= 0 (0 is greedy), got ${opts.temperature}`);
  if (!(opts.topP > 0 && opts.topP <= 1)) throw new UsageError(`--top-p must be in (0, 1], got ${opts.topP}`);
  if (opts.threads !== undefined) {
    const { threads, note } = cappedThreads(opts.threads);
    if (note) err(`note: ${note}`);
    setNumThreads(threads);
  }

  // Everything that can be checked from small files comes before the weights are read: the
  // config, the schedule, the image's declared size, the prompt's length against the context.
  const cfg = readConfig(opts.model);
  const adapter = opts.adapter === undefined ? undefined : loadAdapter(opts.adapter);
  const spec = opts.schedule ?? adapter?.config.adscSchedule ?? 'none';
  const schedule = parseSchedule(spec, { numLayers: cfg.text.numLayers, positions: opts.positions as PositionMode | undefined });
  const image = opts.image === undefined ? undefined : readImage(opts.image);

  let tokenizer: LlavaTokenizer | undefined;
  let ids: number[];
  let promptText: string | undefined;
  if (opts.prompt !== undefined) {
    tokenizer = LlavaTokenizer.load(opts.model, cfg.imageTokenIndex, cfg.bosTokenId);
    const template = (opts.template ?? (cfg.layout === 'llava-hf' ? 'llava-hf' : 'vicuna_v1')) as TemplateName;
    if (template !== 'llava-hf' && template !== 'vicuna_v1') throw new UsageError(`--template must be llava-hf or vicuna_v1, got ${opts.template}`);
    promptText = formatPrompt(template, opts.prompt, image !== undefined);
    ids = tokenizer.encode(promptText);
  } else {
    ids = parseIds(opts.inputIds!);
    const bad = ids.find((id) => id !== cfg.imageTokenIndex && (id < 0 || id >= cfg.text.vocabSize));
    if (bad !== undefined) {
      throw new UsageError(`--input-ids: id ${bad} is outside the vocabulary [0, ${cfg.text.vocabSize}) of ${opts.model} (image token: ${cfg.imageTokenIndex})`);
    }
    if (existsSync(`${opts.model}/tokenizer.json`)) tokenizer = LlavaTokenizer.load(opts.model, cfg.imageTokenIndex, cfg.bosTokenId);
  }
  const positions = promptPositions(ids, cfg, image !== undefined);
  checkContext(positions, opts.maxNewTokens, cfg, opts.model);

  const model = Llava.load(opts.model, { contextTokens: positions + opts.maxNewTokens, force: opts.force });
  if (adapter) applyAdapter(model, adapter, opts.adapter);
  const pixels: Tensor | undefined = image === undefined ? undefined : model.pixels(image, opts.image);

  const result = generate(model, ids, pixels, {
    maxNewTokens: opts.maxNewTokens,
    temperature: opts.temperature,
    topP: opts.topP,
    seed: opts.seed,
    schedule,
  });
  const text = tokenizer ? tokenizer.decode(result.outputIds) : undefined;
  const note = model.metadata.note;
  // FLOPs of this prefill, counted from the tokens each layer really processed.
  const counted = countRun(cfg, schedule, result, { image: pixels !== undefined }).scheduled;
  if (opts.json) out(JSON.stringify(toJson(result, text, schedule.spec, counted)));
  else report(result, { promptText, text, note, model: opts.model, schedule: `${schedule.spec} (positions ${schedule.positions})`, flops: counted.total }, out);
}

function parseIds(text: string): number[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^-?\d{1,15}$/.test(s))) throw new UsageError(`--input-ids must be comma-separated integers, got ${JSON.stringify(text)}`);
  return ids.map(Number);
}

function toJson(r: GenerateResult, text: string | undefined, schedule: string, counted: PrefillCount) {
  return {
    input_ids: r.inputIds,
    output_ids: r.outputIds,
    text: text ?? null,
    schedule,
    prompt_tokens: r.promptTokens,
    tokens_per_layer: r.tokensPerLayer,
    vision_tokens_per_layer: r.visionTokensPerLayer,
    /** For each layer, which image features (0 .. P-1, in order) its vision tokens are. */
    vision_indices_per_layer: r.visionIndicesPerLayer.map((kept) => Array.from(kept)),
    reference_attention_layers: r.referenceAttentionLayers,
    kv_cache_elements: r.kvCacheElements,
    kv_cache_dtype: 'f32',
    flops: {
      total: counted.total,
      vision_tower: counted.vision,
      projector: counted.projector,
      ranking: counted.ranking,
      decoder: counted.decoder,
      lm_head: counted.lmHead,
    },
    prefill_logits: Array.from(r.prefillLogits),
    timings: { vision: r.timings.vision, prefill: r.timings.prefill, decode: r.timings.decode },
  };
}

interface ReportContext {
  promptText?: string;
  text?: string;
  note?: string;
  model: string;
  schedule: string;
  flops: number;
}

function report(r: GenerateResult, ctx: ReportContext, out: (line: string) => void): void {
  if (ctx.note) out(`note: ${ctx.model}: ${ctx.note}`);
  if (ctx.promptText !== undefined) out(`prompt: ${JSON.stringify(ctx.promptText)}`);
  out(`input ids (${r.inputIds.length}): ${r.inputIds.join(' ')}`);
  out(`answer: ${ctx.text !== undefined ? JSON.stringify(ctx.text) : '(no tokenizer)'}`);
  out(`output ids (${r.outputIds.length}): ${r.outputIds.join(' ')}`);
  out('');
  out(`schedule: ${ctx.schedule}`);
  out(`decoder input: ${r.promptTokens} tokens (${r.visionTokensPerLayer[0] ?? 0} vision)`);
  out(`tokens per layer: ${runs(r.tokensPerLayer)}`);
  out(`vision tokens per layer: ${runs(r.visionTokensPerLayer)}`);
  if (r.referenceAttentionLayers.length) out(`layers on reference attention (probabilities needed): ${r.referenceAttentionLayers.join(', ')}`);
  out(`KV cache after prefill: ${r.kvCacheElements.toLocaleString('en-US')} elements (f32, ${formatMiB(r.kvCacheElements * 4)})`);
  out(`prefill FLOPs (counted, exact): ${(ctx.flops / 1e9).toFixed(2)} GFLOP`);
  const decode = r.timings.decode;
  const perToken = decode.length ? decode.reduce((s, t) => s + t, 0) / decode.length : 0;
  out(`timings: vision ${r.timings.vision.toFixed(0)} ms, prefill ${r.timings.prefill.toFixed(0)} ms, decode ${decode.length} steps, ${perToken.toFixed(1)} ms/token`);
}

/** "640 x2, 320 x30": a per-layer list written as runs of equal values. */
function runs(values: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j < values.length && values[j] === values[i]) j++;
    parts.push(j - i > 1 ? `${values[i]} x${j - i}` : `${values[i]}`);
    i = j;
  }
  return parts.join(', ');
}

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/**
 * The training loop behind `adsc train`: LLaVA-format data in, a model directory or a PEFT adapter
 * out.
 *
 *   for each optimizer step:
 *     examples = the next batchSize x gradAccum of a seeded order (order.ts)
 *     N        = labelled tokens in all of them
 *     for each example:  loss_e = sum of its token losses (lmLoss, the inference forward)
 *                        backward(loss_e / N)       gradients sum into the trainable leaves
 *     clip the global gradient norm; optimizer step at the schedule's learning rate; clear grads
 *
 * So the loss of a step is Hugging Face's: the mean over every labelled token of the step's
 * examples, however they are split into micro-batches, and only one example's activations are alive
 * at a time. What trains: whole parts (`vision`, `projector`, `llm`) as f32 master copies, or LoRA
 * adapters on the decoder's projections with every base weight frozen in its stored dtype.
 *
 * Checkpoints are written whole into a temporary directory and renamed into place, so an
 * interrupted run leaves the previous checkpoint intact; `resume` continues from one with its
 * optimizer state and the same data order.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { backward, noGrad, scale, seedRandom, type Tensor } from '@adsc/core';
import {
  Llava, LlavaTokenizer, labelCount, lmLoss, parseSchedule, readConfig, readImage, readPreprocessorConfig, tensorMap,
  type Schedule, type TemplateName,
} from '@adsc/model';
import { openCheckpoint, save } from '@adsc/safetensors';
import { readTrainingData, type TrainingExample } from './data.js';
import { attachNewLora, applyAdapter } from './lora.js';
import { learningRate, type LrScheduleName } from './lr.js';
import { AdamW, Sgd, clipGradNorm, defaultDecay, gradNorm, type Parameter } from './optim.js';
import { readOptimizerState, saveOptimizerState } from './optimizer-file.js';
import { batchAt, batchesPerEpoch } from './order.js';
import { loadAdapter, saveAdapter, type LoraAdapterFile } from './peft.js';

export type Part = 'vision' | 'projector' | 'llm';
export const PARTS: readonly Part[] = ['vision', 'projector', 'llm'];

export interface LoraOptions {
  r: number;
  alpha: number;
  targets: string[];
  dropout: number;
}

export interface TrainOptions {
  model: string;
  data: string;
  out: string;
  imageFolder?: string;
  /** Parts trained in full (ignored with `lora`, which trains adapters only). */
  train: Part[];
  lora?: LoraOptions;
  /** Token-reduction schedule applied in every forward (as at inference): the target schedule. */
  schedule: string;
  /**
   * Stages run before the target schedule, in order: `steps` optimizer steps under each stage's
   * schedule (ADSC's curriculum over pruning ratios); the remaining steps use `schedule`.
   */
  curriculum?: { schedule: string; steps: number }[];
  optimizer: 'adamw' | 'sgd';
  lr: number;
  /**
   * The vision tower's own peak learning rate (it follows the same warm-up and decay as `lr`);
   * default `lr`. Needs 'vision' in `train`. LLaVA-NeXT's mm_vision_tower_lr.
   */
  visionLr?: number;
  weightDecay: number;
  /** 0 turns clipping off. */
  maxGradNorm: number;
  lrSchedule: LrScheduleName;
  warmupSteps: number;
  /** Optimizer steps; or derive them from `epochs`. */
  steps?: number;
  epochs?: number;
  batchSize: number;
  gradAccum: number;
  seed: number;
  /** Write a checkpoint every N steps (0: only at the end). */
  saveEvery: number;
  /**
   * End this process after step N of the run's `steps`, with a checkpoint there: the learning-rate
   * schedule stays the whole run's, and `resume` from that checkpoint continues it (a long run split
   * over several sessions).
   */
  stopAfter?: number;
  resume?: string;
  /** Recompute each decoder layer in the backward pass (gradient checkpointing). */
  checkpointing: boolean;
  /**
   * Each turn of a conversation sees the image and itself only, as if it were asked alone
   * (data.ts); default false: turns follow one another, as in LLaVA.
   */
  independentTurns?: boolean;
  template?: TemplateName;
  /** Longest example, vision tokens counted (default: the model's max_position_embeddings). */
  maxLength?: number;
}

export interface StepInfo {
  step: number;
  /** The schedule this step ran under (a curriculum stage or the target). */
  schedule: string;
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

export interface TrainReport {
  losses: number[];
  /** The run's steps (its schedule's length), and the step this process stopped after. */
  steps: number;
  stoppedAt: number;
  tokens_per_second: number;
  seconds: number;
  out: string;
  examples: number;
  trainable_parameters: number;
  schedule: string;
}

/** What a checkpoint directory records besides the weights, so that a run can resume. */
interface TrainerState {
  step: number;
  losses: number[];
  options: Omit<TrainOptions, 'resume'>;
}

export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
const MODEL_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

export class TrainError extends Error {
  override name = 'TrainError';
}

/** The part a checkpoint tensor belongs to, from its name (both LLaVA layouts). */
export function partOf(name: string): Part {
  if (name.includes('vision_tower')) return 'vision';
  if (name.includes('multi_modal_projector') || name.includes('mm_projector')) return 'projector';
  return 'llm';
}

export function train(opts: TrainOptions, onStep?: (info: StepInfo) => void): TrainReport {
  const started = performance.now();
  checkOut(opts);
  const config = readConfig(opts.model);
  const schedule = parseSchedule(opts.schedule, { numLayers: config.text.numLayers });
  const stages = (opts.curriculum ?? []).map((c) => ({ schedule: parseSchedule(c.schedule, { numLayers: config.text.numLayers }), steps: c.steps }));
  for (const sch of [...stages.map((st) => st.schedule), schedule]) {
    // FastV and PyramidDrop rank vision tokens by the attention of the last prompt token; in a
    // training sequence the last token ends the answer, so they would rank with the targets.
    if (sch.spec !== 'none' && !sch.spec.startsWith('adsc')) {
      throw new TrainError(`schedule ${sch.spec}: training supports ADSC (uniform) schedules and none; score-based schedules rank with the last prompt token, which a training sequence does not end with`);
    }
  }
  if (opts.visionLr !== undefined && (opts.lora !== undefined || !opts.train.includes('vision'))) {
    throw new TrainError(`a vision learning rate (${opts.visionLr}) needs the vision tower among the trained parts (--train vision,...), without --lora`);
  }
  if (opts.independentTurns && opts.data.endsWith('.jsonl')) {
    throw new TrainError(`${opts.data}: independent turns are laid out from conversation JSON; pre-tokenized JSONL records fix their own ids`);
  }
  const tokenizer = LlavaTokenizer.load(opts.model, config.imageTokenIndex, config.bosTokenId);
  const visionTokens = (config.vision.imageSize / config.vision.patchSize) ** 2;
  const examples = readTrainingData(opts.data, {
    tokenizer,
    template: opts.template ?? (config.layout === 'llava-hf' ? 'llava-hf' : 'vicuna_v1'),
    eosTokenId: config.eosTokenIds[0],
    vocabSize: config.text.vocabSize,
    imageFolder: opts.imageFolder,
    maxLength: opts.maxLength ?? config.text.maxPositions,
    visionTokens,
    independentTurns: opts.independentTurns,
  });
  if (examples.length === 0) throw new TrainError(`${opts.data}: no training records`);
  for (const sch of [...stages.map((st) => st.schedule), schedule]) checkPredecessors(opts.data, examples, sch, config.imageTokenIndex, visionTokens, config.text.numLayers);

  const resumed = opts.resume === undefined ? undefined : readTrainerState(opts.resume);
  if (resumed) checkResumable(opts, resumed);
  const { model, params, adapter } = buildTrainable(opts, resumed !== undefined);
  if (params.length === 0) throw new TrainError('nothing to train: give --train parts or --lora');
  const optimizer = opts.optimizer === 'adamw' ? new AdamW({ weightDecay: opts.weightDecay }) : new Sgd({ weightDecay: opts.weightDecay });
  if (opts.resume !== undefined) optimizer.loadState(readOptimizerState(join(opts.resume, OPTIMIZER_FILE)));

  // Micro-batches (batchAt's unit): an epoch's last one holds the remainder; a step takes gradAccum.
  const microBatches = opts.steps !== undefined ? opts.steps * opts.gradAccum : (opts.epochs ?? 1) * batchesPerEpoch(examples.length, opts.batchSize);
  const steps = Math.ceil(microBatches / opts.gradAccum);
  if (opts.warmupSteps > steps) throw new TrainError(`--warmup-steps ${opts.warmupSteps} is more than the ${steps} steps of the run`);
  const order = { count: examples.length, seed: opts.seed, batchSize: opts.batchSize };
  const losses = resumed?.losses.slice(0, resumed.step) ?? [];
  const firstStep = resumed?.step ?? 0;
  const staged = stages.reduce((n, st) => n + st.steps, 0);
  if (staged >= steps) throw new TrainError(`the curriculum's ${staged} steps leave none of the ${steps} for the target schedule ${schedule.spec}`);
  /** The curriculum stage that holds `step`, or the target schedule after the last stage. */
  const scheduleAt = (step: number): Schedule => {
    let end = 0;
    for (const st of stages) if (step < (end += st.steps)) return st.schedule;
    return schedule;
  };
  if (firstStep >= steps) throw new TrainError(`${opts.resume}: already at step ${firstStep} of ${steps}; nothing left to train`);
  const end = opts.stopAfter ?? steps;
  if (end > steps) throw new TrainError(`--stop-after ${end} is past the ${steps} steps of the run`);
  if (end <= firstStep) throw new TrainError(`--stop-after ${end}: ${opts.resume} is already at step ${firstStep}`);
  let tokens = 0;
  const loopStart = performance.now();

  for (let step = firstStep; step < end; step++) {
    const micro = Array.from({ length: opts.gradAccum }, (_, m) => step * opts.gradAccum + m).filter((k) => k < microBatches);
    const batch = micro.flatMap((k) => [...batchAt(k, order).indices]);
    // Dropout draws from a stream seeded by (seed, step): a resumed run draws what the whole run would.
    seedRandom((Math.imul(opts.seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) >>> 0);
    const labelled = batch.reduce((n, i) => n + labelCount(examples[i].labels), 0);
    let lossSum = 0;
    const current = scheduleAt(step);
    for (const i of batch) {
      const example = examples[i];
      const pixels = example.image === undefined ? undefined : noGrad(() => model.pixels(readImage(example.image!, `${opts.data}, record id ${example.id}: ${example.image}`)));
      const { loss, run } = lmLoss(model, { ...example, pixels }, { schedule: current, checkpoint: opts.checkpointing, reduction: 'sum' });
      lossSum += loss.toFloat32Array()[0];
      // A text-only example reaches no trainable tensor when only vision / projector train.
      if (loss.requiresGrad) backward(scale(loss, 1 / labelled));
      tokens += run.tokensPerLayer[0];
    }
    const withGrads = params.map((p) => ({ ...p, grad: p.value.grad }));
    const norm = opts.maxGradNorm > 0 ? clipGradNorm(withGrads, opts.maxGradNorm) : gradNorm(withGrads);
    if (!Number.isFinite(norm) || !Number.isFinite(lossSum)) {
      // Stepping would write NaN into every weight; the last checkpoint on disk stays as it was.
      throw new TrainError(`step ${step + 1}: the loss (${lossSum / labelled}) or the gradient norm (${norm}) is not finite; lower --lr or raise --warmup-steps`);
    }
    const lr = learningRate(opts.lrSchedule, step, { base: opts.lr, warmupSteps: opts.warmupSteps, totalSteps: steps });
    optimizer.step(withGrads, lr);
    for (const p of params) p.value.grad = undefined;
    losses.push(lossSum / labelled);

    const elapsed = (performance.now() - loopStart) / 1000;
    const done = step + 1 - firstStep;
    onStep?.({
      step: step + 1, schedule: current.spec, steps, loss: losses[losses.length - 1], lr, gradNorm: norm,
      tokensPerSecond: tokens / elapsed, etaSeconds: (elapsed / done) * (steps - step - 1),
    });
    const last = step + 1 === end;
    if (last || (opts.saveEvery > 0 && (step + 1) % opts.saveEvery === 0)) {
      writeCheckpoint(opts, { step: step + 1, losses, options: withoutResume(opts) }, model, optimizer.state(), adapter);
    }
  }
  return {
    losses,
    steps,
    stoppedAt: end,
    tokens_per_second: tokens / ((performance.now() - loopStart) / 1000),
    seconds: (performance.now() - started) / 1000,
    out: opts.out,
    examples: examples.length,
    trainable_parameters: params.reduce((n, p) => n + p.value.size, 0),
    schedule: schedule.spec,
  };
}

/**
 * The model with its trainable leaves: whole parts as f32 copies that require gradients (read
 * from the resume directory when continuing a full fine-tune), or fresh / resumed LoRA adapters.
 */
function buildTrainable(opts: TrainOptions, resuming: boolean): { model: Llava; params: Parameter[]; adapter?: LoraAdapterFile } {
  const weightsDir = resuming && opts.lora === undefined ? opts.resume! : opts.model;
  const checkpoint = openCheckpoint(weightsDir);
  const config = readConfig(opts.model);
  const named: Record<string, Tensor> = {};
  const params: Parameter[] = [];
  for (const name of checkpoint.names()) {
    const t = checkpoint.tensor(name);
    if (opts.lora === undefined && opts.train.includes(partOf(name))) {
      const master = t.to('f32').requireGrad();
      named[name] = master;
      const lrScale = opts.visionLr !== undefined && partOf(name) === 'vision' ? opts.visionLr / opts.lr : undefined;
      params.push({ name, value: master, decay: defaultDecay(name, master.shape), ...(lrScale === undefined ? {} : { lrScale }) });
    } else {
      named[name] = t;
    }
  }
  const model = Llava.fromWeights(tensorMap(named), config, opts.model, { ...checkpoint.metadata }, readPreprocessorConfig(opts.model, config.vision.imageSize));
  if (opts.lora === undefined) return { model, params };

  const loraConfig = {
    r: opts.lora.r, loraAlpha: opts.lora.alpha, loraDropout: opts.lora.dropout, targetModules: opts.lora.targets,
    baseModelNameOrPath: opts.model, ...(opts.schedule === 'none' ? {} : { adscSchedule: opts.schedule }),
  };
  let adapter: LoraAdapterFile;
  if (resuming) {
    adapter = loadAdapter(opts.resume!);
    for (const m of adapter.modules.values()) [m.a, m.b].forEach((t) => t.requireGrad());
    applyAdapter(model, adapter, opts.resume, true);
  } else {
    adapter = attachNewLora(model, loraConfig, opts.seed);
  }
  for (const [path, m] of adapter.modules) {
    params.push({ name: `${path}.lora_A.weight`, value: m.a, decay: true });
    params.push({ name: `${path}.lora_B.weight`, value: m.b, decay: true });
  }
  return { model, params, adapter };
}

/**
 * Refuses, before any work, a schedule that reduces vision tokens when a record labels the token
 * right after its image: that token's predecessor is the image's last vision token, which a
 * uniform ADSC drop always removes (and a score-based one may).
 */
function checkPredecessors(file: string, examples: TrainingExample[], schedule: Schedule, imageToken: number, vision: number, numLayers: number): void {
  if (!schedule.plan(vision, numLayers).some((n) => n !== vision)) return;
  examples.forEach((e, i) => {
    const at = e.inputIds.indexOf(imageToken);
    if (at >= 0 && at + 1 < e.labels.length && e.labels[at + 1] !== -100) {
      throw new TrainError(`${file}: record ${i + 1} (id ${e.id}), field "labels": position ${at + 1} right after the image is labelled, but schedule ${schedule.spec} drops vision tokens and with them its predecessor`);
    }
  });
}

/**
 * `--out` will be replaced whole at each checkpoint, so it must be nothing, an empty directory, or
 * an earlier checkpoint of `adsc train`; never the model directory or a folder inside it.
 */
function checkOut(opts: TrainOptions): void {
  const out = resolve(opts.out);
  const model = resolve(opts.model);
  const inside = relative(model, out);
  if (out === model || (!inside.startsWith('..') && !inside.startsWith('/'))) {
    throw new TrainError(`--out ${opts.out} is the model directory or inside it; checkpoints replace --out whole`);
  }
  // Fail now, not after the first steps, when the checkpoint cannot be written there.
  mkdirSync(dirname(out), { recursive: true });
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new TrainError(`--out ${opts.out} exists and is not a directory`);
  if (readdirSync(out).length > 0 && !existsSync(join(out, TRAINER_STATE_FILE))) {
    throw new TrainError(`--out ${opts.out} is a non-empty directory that is not an adsc train checkpoint (no ${TRAINER_STATE_FILE}); it would be replaced`);
  }
}

/** Options that must match the checkpoint's for a resumed run to continue the same training. */
const RESUME_KEYS = ['model', 'train', 'lora', 'schedule', 'curriculum', 'optimizer', 'lr', 'visionLr', 'weightDecay', 'lrSchedule', 'warmupSteps', 'batchSize', 'gradAccum', 'seed', 'checkpointing', 'independentTurns'] as const;
/** What an option left out means (a checkpoint written before the option existed leaves it out). */
const RESUME_DEFAULTS: Partial<Record<(typeof RESUME_KEYS)[number], unknown>> = { independentTurns: false };

function checkResumable(opts: TrainOptions, state: TrainerState): void {
  const saved = state.options as unknown as Record<string, unknown>;
  const now = opts as unknown as Record<string, unknown>;
  const show = (o: Record<string, unknown>, k: (typeof RESUME_KEYS)[number]) => JSON.stringify(o[k] ?? RESUME_DEFAULTS[k] ?? null);
  const differ = RESUME_KEYS.filter((k) => show(saved, k) !== show(now, k));
  if (differ.length > 0) {
    const what = differ.map((k) => `${k} ${show(saved, k)} -> ${show(now, k)}`).join(', ');
    throw new TrainError(`--resume ${opts.resume}: the checkpoint was trained with other options (${what}); resume with the same ones`);
  }
}

function withoutResume(opts: TrainOptions): Omit<TrainOptions, 'resume'> {
  const { resume, ...rest } = opts;
  void resume;
  return rest;
}

export function readTrainerState(dir: string): TrainerState {
  const path = join(dir, TRAINER_STATE_FILE);
  if (!existsSync(path)) throw new TrainError(`${path}: not found (is ${dir} a checkpoint written by adsc train?)`);
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as TrainerState;
  } catch (e) {
    throw new TrainError(`${path}: not JSON (${(e as Error).message})`);
  }
  if (!Number.isInteger(state.step) || state.step < 0 || !Array.isArray(state.losses)) throw new TrainError(`${path}: needs an integer "step" and a "losses" list`);
  return state;
}

/**
 * Writes the whole checkpoint into `out`.tmp-PID, then swaps it into place: the old `out` is
 * renamed aside first and removed last, so a crash at any point leaves one complete checkpoint.
 */
function writeCheckpoint(
  opts: TrainOptions,
  state: TrainerState,
  model: Llava,
  optimizerState: ReturnType<AdamW['state']>,
  adapter: LoraAdapterFile | undefined,
): void {
  const tmp = `${opts.out}.tmp-${process.pid}`;
  const old = `${opts.out}.old-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    if (adapter) {
      saveAdapter(tmp, adapter);
    } else {
      for (const file of MODEL_FILES) if (existsSync(join(opts.model, file))) copyFileSync(join(opts.model, file), join(tmp, file));
      const source = model.source!;
      const tensors: Record<string, Tensor> = {};
      for (const name of source.names()) tensors[name] = source.tensor(name);
      save(join(tmp, 'model.safetensors'), tensors, { format: 'pt', adsc_trained_from: basename(opts.model) });
    }
    saveOptimizerState(join(tmp, OPTIMIZER_FILE), optimizerState);
    writeFileSync(join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(state, null, 1)}\n`);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const hadOld = existsSync(opts.out);
  if (hadOld) renameSync(opts.out, old);
  renameSync(tmp, opts.out);
  if (hadOld) rmSync(old, { recursive: true, force: true });
}

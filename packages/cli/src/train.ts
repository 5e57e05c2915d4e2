/**
 * `adsc train`: fine-tune a LLaVA model directory on LLaVA-format data (packages/train does the
 * work; this file turns flags into its options and prints progress).
 *
 *   adsc train --model DIR --data FILE --out DIR [--image-folder DIR] [--train vision,projector,llm]
 *              [--lora r=R,alpha=A,targets=q_proj,v_proj[,dropout=P]] [--schedule SPEC]
 *              [--curriculum SPEC@STEPS;SPEC@STEPS...]
 *              [--optimizer adamw|sgd] [--lr X] [--vision-lr X] [--weight-decay X] [--max-grad-norm X (0 = off)]
 *              [--lr-schedule constant|cosine] [--warmup-steps N] [--steps N | --epochs N]
 *              [--batch-size N] [--grad-accum N] [--seed S] [--save-every N] [--stop-after N] [--resume DIR]
 *              [--checkpointing] [--independent-turns] [--template llava-hf|vicuna_v1] [--threads N] [--json]
 */
import { parseArgs } from 'node:util';
import { setNumThreads } from '@adsc/core';
import { cappedThreads, type TemplateName } from '@adsc/model';
import { LORA_TARGETS, PARTS, train, type LoraOptions, type Part, type StepInfo } from '@adsc/train';
import { integerFlag, numberFlag } from './args.js';
import { UsageError } from './errors.js';

export const TRAIN_USAGE = `  adsc train --model DIR --data FILE --out DIR [--image-folder DIR] [--train vision,projector,llm]
             [--lora r=R,alpha=A,targets=q_proj,v_proj[,dropout=P]] [--schedule SPEC]
             [--curriculum SPEC@STEPS;SPEC@STEPS...] [--optimizer adamw|sgd] [--lr X] [--vision-lr X] [--weight-decay X] [--max-grad-norm X (0 = off)]
             [--lr-schedule constant|cosine] [--warmup-steps N] [--steps N | --epochs N]
             [--batch-size N] [--grad-accum N] [--seed S] [--save-every N] [--stop-after N] [--resume DIR]
             [--checkpointing] [--independent-turns] [--template llava-hf|vicuna_v1] [--threads N] [--json]
      train (whole parts, or LoRA adapters) on LLaVA conversation JSON or pre-tokenized JSONL;
      --independent-turns: every turn sees the image and itself only, as if asked alone;
      --stop-after N: end after step N of the run (a checkpoint there; --resume it to go on)`;

export function trainCommand(args: string[], out: (line: string) => void, err: (line: string) => void): void {
  const { values, positionals } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      'image-folder': { type: 'string' },
      train: { type: 'string', default: 'projector,llm' },
      lora: { type: 'string' },
      schedule: { type: 'string', default: 'none' },
      curriculum: { type: 'string' },
      optimizer: { type: 'string', default: 'adamw' },
      lr: { type: 'string' },
      'vision-lr': { type: 'string' },
      'weight-decay': { type: 'string', default: '0' },
      'max-grad-norm': { type: 'string', default: '1' },
      'lr-schedule': { type: 'string', default: 'cosine' },
      'warmup-steps': { type: 'string', default: '0' },
      steps: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string', default: '1' },
      'grad-accum': { type: 'string', default: '1' },
      seed: { type: 'string', default: '0' },
      'save-every': { type: 'string', default: '0' },
      'stop-after': { type: 'string' },
      resume: { type: 'string' },
      checkpointing: { type: 'boolean', default: false },
      'independent-turns': { type: 'boolean', default: false },
      template: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  if (positionals.length > 0) throw new UsageError('adsc train takes no positional arguments');
  for (const flag of ['model', 'data', 'out'] as const) {
    if (values[flag] === undefined) throw new UsageError(`adsc train needs --${flag}`);
  }
  if (values.steps !== undefined && values.epochs !== undefined) throw new UsageError('give --steps or --epochs, not both');
  const optimizer = oneOf('--optimizer', values.optimizer, ['adamw', 'sgd'] as const);
  const lrSchedule = oneOf('--lr-schedule', values['lr-schedule'], ['constant', 'cosine'] as const);
  const template = values.template === undefined ? undefined : oneOf('--template', values.template, ['llava-hf', 'vicuna_v1'] as const satisfies readonly TemplateName[]);
  const lora = values.lora === undefined ? undefined : parseLora(values.lora);
  if (values.threads !== undefined) {
    const { threads, note } = cappedThreads(integerFlag('--threads', values.threads, { min: 1, max: 1024 }));
    if (note) err(`note: ${note}`);
    setNumThreads(threads);
  }

  const progress = (s: StepInfo): void => {
    if (values.json) return;
    err(`step ${s.step}/${s.steps}  ${s.schedule}  loss ${s.loss.toFixed(4)}  lr ${s.lr.toExponential(2)}  |g| ${s.gradNorm.toFixed(3)}  ${s.tokensPerSecond.toFixed(0)} tok/s  ETA ${duration(s.etaSeconds)}`);
  };
  const report = train(
    {
      model: values.model!,
      data: values.data!,
      out: values.out!,
      imageFolder: values['image-folder'],
      train: parseParts(values.train),
      lora,
      schedule: values.schedule,
      curriculum: values.curriculum === undefined ? undefined : parseCurriculum(values.curriculum),
      optimizer,
      lr: values.lr === undefined ? (lora ? 2e-4 : 2e-5) : rateFlag('--lr', values.lr),
      visionLr: values['vision-lr'] === undefined ? undefined : rateFlag('--vision-lr', values['vision-lr']),
      weightDecay: numberFlag('--weight-decay', values['weight-decay'], { min: 0, max: 1 }),
      maxGradNorm: numberFlag('--max-grad-norm', values['max-grad-norm'], { min: 0, max: 1e6 }),
      lrSchedule,
      warmupSteps: integerFlag('--warmup-steps', values['warmup-steps'], { max: 1e9 }),
      steps: values.steps === undefined ? undefined : integerFlag('--steps', values.steps, { min: 1, max: 1e9 }),
      epochs: values.epochs === undefined ? undefined : integerFlag('--epochs', values.epochs, { min: 1, max: 1e6 }),
      batchSize: integerFlag('--batch-size', values['batch-size'], { min: 1, max: 1e6 }),
      gradAccum: integerFlag('--grad-accum', values['grad-accum'], { min: 1, max: 1e6 }),
      seed: integerFlag('--seed', values.seed, { max: 2 ** 32 - 1 }),
      saveEvery: integerFlag('--save-every', values['save-every'], { max: 1e9 }),
      stopAfter: values['stop-after'] === undefined ? undefined : integerFlag('--stop-after', values['stop-after'], { min: 1, max: 1e9 }),
      resume: values.resume,
      checkpointing: values.checkpointing,
      independentTurns: values['independent-turns'],
      template,
    },
    progress,
  );
  if (values.json) out(JSON.stringify(report));
  else if (report.stoppedAt < report.steps) out(`stopped after step ${report.stoppedAt} of ${report.steps} on ${report.examples} examples in ${duration(report.seconds)}: loss ${report.losses[0].toFixed(4)} -> ${report.losses[report.losses.length - 1].toFixed(4)}; wrote ${report.out} (--resume it to go on)`);
  else out(`trained ${report.steps} steps on ${report.examples} examples in ${duration(report.seconds)}: loss ${report.losses[0].toFixed(4)} -> ${report.losses[report.losses.length - 1].toFixed(4)}; wrote ${report.out}`);
}

/** "adsc:2=0.25@100;adsc:2=0.5@50": stages of a schedule and a step count, run before --schedule. */
export function parseCurriculum(text: string): { schedule: string; steps: number }[] {
  return text.split(';').map((stage) => stage.trim()).filter((s) => s !== '').map((stage) => {
    const at = stage.lastIndexOf('@');
    if (at <= 0) throw new UsageError(`--curriculum: stage ${JSON.stringify(stage)} is not SPEC@STEPS`);
    return { schedule: stage.slice(0, at), steps: integerFlag(`--curriculum stage ${stage.slice(0, at)}`, stage.slice(at + 1), { min: 1, max: 1e9 }) };
  });
}

function oneOf<T extends string>(flag: string, value: string, options: readonly T[]): T {
  if (!(options as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${options.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function parseParts(text: string): Part[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new UsageError(`--train: unknown part ${JSON.stringify(p)} (known: ${PARTS.join(', ')})`);
  return parts as Part[];
}

/**
 * `r=8,alpha=16,targets=q_proj,v_proj,dropout=0.05`: key=value items; a bare item continues the
 * previous key's list (targets).
 */
export function parseLora(text: string): LoraOptions {
  const fields: Record<string, string[]> = {};
  let last: string | undefined;
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = item.indexOf('=');
    if (eq < 0) {
      if (last !== 'targets') throw new UsageError(`--lora: ${JSON.stringify(item)} has no key (only targets= takes a list: r=R,alpha=A,targets=q_proj,v_proj)`);
      fields[last].push(item);
      continue;
    }
    const key = item.slice(0, eq);
    if (!['r', 'alpha', 'targets', 'dropout'].includes(key)) throw new UsageError(`--lora: unknown key ${JSON.stringify(key)} (known: r, alpha, targets, dropout)`);
    if (fields[key]) throw new UsageError(`--lora: ${key} is given twice`);
    fields[key] = [item.slice(eq + 1)];
    last = key;
  }
  if (!fields.r) throw new UsageError('--lora needs r=R');
  const r = integerFlag('--lora r', fields.r[0], { min: 1, max: 65536 });
  const targets = fields.targets ?? ['q_proj', 'v_proj'];
  for (const t of targets) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) throw new UsageError(`--lora: unknown target module ${JSON.stringify(t)} (known: ${LORA_TARGETS.join(', ')})`);
  }
  return {
    r,
    alpha: fields.alpha ? numberFlag('--lora alpha', fields.alpha[0], { min: 0, max: 1e6, minExclusive: true }) : 2 * r,
    targets,
    dropout: fields.dropout ? numberFlag('--lora dropout', fields.dropout[0], { min: 0, max: 0.99 }) : 0,
  };
}

/**
 * A learning rate: plain decimal or scientific notation with a small exponent ("2e-5", "0.0002"),
 * since that is how rates are written; still no hex, no Infinity, and within (0, 10].
 */
export function rateFlag(flag: string, text: string): number {
  const value = /^(?:\d+(?:\.\d*)?|\.\d+)(?:e-?\d{1,2})?$/i.test(text) ? Number(text) : NaN;
  if (!(value > 0 && value <= 10)) throw new UsageError(`${flag} must be a number in (0, 10] such as 2e-5 or 0.001, got ${JSON.stringify(text)}`);
  return value;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

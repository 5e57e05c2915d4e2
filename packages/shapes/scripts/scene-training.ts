/**
 * What the scripts that train a part of the model on fresh scenes share (pretrain-vision.ts,
 * align-projector.ts): the optimizer loop with its report every 50 steps, and the model directory
 * they hand on.
 */
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '@adsc/core';
import { save } from '@adsc/safetensors';
import { AdamW, learningRate, type Parameter } from '@adsc/train';

export interface SceneTraining {
  steps: number;
  lr: number;
  warmup: number;
  params: Parameter[];
  /** Runs step `step`'s forward and backward passes over its batch and returns the summed loss. */
  step: (step: number) => number;
  /** Called before the first step (loss NaN), every 50 steps and after the last, with the mean loss since the last call. */
  report: (step: number, loss: number) => void;
}

/** AdamW without weight decay, warm-up then cosine decay; returns the minutes it took. */
export function trainOnScenes({ steps, lr, warmup, params, step: run, report }: SceneTraining): number {
  report(0, NaN);
  const optimizer = new AdamW({ weightDecay: 0 });
  const started = performance.now();
  let window = 0;
  for (let step = 0; step < steps; step++) {
    window += run(step);
    optimizer.step(params.map((p) => ({ ...p, grad: p.value.grad })), learningRate('cosine', step, { base: lr, warmupSteps: warmup, totalSteps: steps }));
    for (const p of params) p.value.grad = undefined;
    if ((step + 1) % 50 === 0 || step + 1 === steps) {
      report(step + 1, window / ((step % 50) + 1));
      window = 0;
    }
  }
  return (performance.now() - started) / 60_000;
}

/**
 * Writes a model directory the way the training scripts hand theirs on: `from`'s JSON files (config,
 * tokenizer, preprocessor) beside `tensors` as model.safetensors with `metadata`, built in a
 * temporary folder next to `out` and renamed into place, so `out` is whole or untouched.
 */
export function writeModelDirectory(from: string, out: string, tensors: Record<string, Tensor>, metadata: Record<string, string>): void {
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  save(join(tmp, 'model.safetensors'), tensors, { format: 'pt', ...metadata });
  for (const f of readdirSync(from)) if (f.endsWith('.json')) copyFileSync(join(from, f), join(tmp, f));
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  console.log(`wrote ${out}`);
}

/**
 * Access to the PyTorch golden fixtures of this package (made by scripts/golden.py; see
 * fixtures/golden/README.md): the tiny checkpoints, their runs, and the module-level arrays.
 */
import { readFileSync } from 'node:fs';
import { Tensor, tensor } from '@adsc/core';
import { readGolden } from '@adsc/core/testing';

const root = new URL('./fixtures/', import.meta.url);

export interface GoldenRun {
  name: string;
  checkpoint: string;
  input_ids: number[];
  pixels: string | null;
  schedule: string;
  positions: 'original' | 'renumber';
  max_new_tokens: number;
  prefill_logits: number[];
  output_ids: number[];
  tokens_per_layer: number[];
  vision_tokens_per_layer: number[];
  kv_cache_elements: number;
  kept_image_indices: number[][];
  min_top1_margin: number;
}

export const runs = JSON.parse(readFileSync(new URL('golden/runs.json', root), 'utf8')) as GoldenRun[];
export const modules = readGolden(new URL('golden/modules.json', root));

export function checkpointDir(name: string): string {
  return new URL(`tiny/${name}`, root).pathname;
}

/** A golden pixels file: raw little-endian f32 [3, 112, 112]. */
export function pixels(file: string): Tensor {
  const bytes = readFileSync(new URL(`golden/${file}`, root));
  return tensor(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), [3, 112, 112]);
}

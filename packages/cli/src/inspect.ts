/**
 * `adsc inspect PATH [--json] [--tensor NAME]`: what a safetensors file or model directory holds.
 *
 * Only headers are read (plus the one tensor asked for with --tensor), so inspecting a 14 GB
 * checkpoint is instant.
 */
import { basename, dirname, join, relative } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { formatShape, numel } from '@adsc/core';
import { availableMemory, formatBytes, planMemory, readConfig } from '@adsc/model';
import { dtypeBits, openCheckpoint, type Checkpoint } from '@adsc/safetensors';
import { UsageError } from './errors.js';

export interface InspectOptions {
  json: boolean;
  tensor?: string;
}

export function inspect(path: string, opts: InspectOptions, out: (line: string) => void): void {
  const checkpoint = openCheckpoint(path);
  try {
    if (opts.tensor !== undefined) showTensor(checkpoint, opts.tensor, opts.json, out);
    else if (opts.json) out(JSON.stringify(listing(checkpoint, path)));
    else table(checkpoint, path, out);
  } finally {
    checkpoint.close();
  }
}

/** The --json listing: metadata (null when there is none) and every tensor's header entry. */
function listing(checkpoint: Checkpoint, path: string) {
  const root = statSync(path).isDirectory() ? path : dirname(path);
  const infos = checkpoint.names().map((name) => checkpoint.info(name));
  const sharded = new Set(infos.map((info) => info.file)).size > 1 || statSync(path).isDirectory();
  const metadata = Object.keys(checkpoint.metadata).length > 0 ? { ...checkpoint.metadata } : null;
  const tensors = infos.map((info) => ({
    name: info.name,
    dtype: info.dtype,
    shape: [...info.shape],
    data_offsets: [...info.dataOffsets],
    ...(sharded ? { file: relative(root, info.file) } : {}),
  }));
  return { metadata, tensors };
}

function table(checkpoint: Checkpoint, path: string, out: (line: string) => void): void {
  const { metadata, tensors } = listing(checkpoint, path);
  const root = statSync(path).isDirectory() ? path : dirname(path);
  const params = tensors.reduce((s, t) => s + numel(t.shape), 0);
  const bytes = tensors.reduce((s, t) => s + (t.data_offsets[1] - t.data_offsets[0]), 0);
  const dtypes = [...new Set(tensors.map((t) => t.dtype))].join(', ');
  out(`${basename(path)}: ${tensors.length} tensors, ${params.toLocaleString('en-US')} parameters, ${formatBytes(bytes)} (${dtypes || 'no tensors'})`);
  if (metadata) for (const [k, v] of Object.entries(metadata)) out(`  metadata ${k}: ${v}`);
  const rows = tensors.map((t) => [t.name, t.dtype, formatShape(t.shape), formatBytes(t.data_offsets[1] - t.data_offsets[0]), t.file ?? '']);
  const header = ['name', 'dtype', 'shape', 'bytes', tensors.some((t) => t.file) ? 'file' : ''];
  // A loop, not Math.max(...rows): spreading 150,000 rows into one call overflows the stack.
  const widths = header.map((h) => h.length);
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i], cell.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  out('');
  out(line(header));
  for (const r of rows) out(line(r));
  if (existsSync(join(root, 'config.json'))) plan(root, bytes, out);
}

/**
 * The memory plan of the model in `dir` (whose checkpoint holds `weightBytes`): what `adsc run`
 * checks before loading it, at the model's full context.
 */
function plan(dir: string, weightBytes: number, out: (line: string) => void): void {
  const cfg = readConfig(dir);
  const p = planMemory(cfg, weightBytes, cfg.text.maxPositions);
  const budget = availableMemory();
  out('');
  out(`memory plan at ${p.contextTokens} positions: weights ${formatBytes(p.weights)} + KV cache ${formatBytes(p.kvCache)} + activations ${formatBytes(p.activations)} = ${formatBytes(p.total)}`);
  out(`memory available: ${formatBytes(budget.bytes)} (${budget.source}); ${p.total <= budget.bytes ? 'fits' : 'does not fit: adsc run refuses it without --force'}`);
}

/** --tensor --json prints every value; past this many the output would not fit in one string. */
const JSON_VALUES_MAX = 10_000_000;

function showTensor(checkpoint: Checkpoint, name: string, json: boolean, out: (line: string) => void): void {
  if (!checkpoint.has(name)) throw new UsageError(`no tensor named ${JSON.stringify(name)} (adsc inspect PATH lists them)`);
  const info = checkpoint.info(name);
  const count = numel(info.shape);
  if (json && count > JSON_VALUES_MAX) {
    throw new UsageError(`tensor ${name} has ${count.toLocaleString('en-US')} values; --json prints at most ${JSON_VALUES_MAX.toLocaleString('en-US')} (drop --json for a summary)`);
  }
  const t = checkpoint.tensor(name);
  // 64-bit integers go through toArray (exact or refused); everything else is read as f32 at once.
  const values: ArrayLike<number> = t.dtype === 'i64' || t.dtype === 'u64' ? t.toArray() : t.toFloat32Array();
  if (json) {
    out(JSON.stringify({ name, dtype: info.dtype, shape: [...info.shape], values: Array.from(values) }));
    return;
  }
  out(`${name}: ${info.dtype} ${formatShape(info.shape)}, ${count} values (${dtypeBits(info.dtype)} bits each)`);
  if (count === 0) return;
  const shown = Array.from({ length: Math.min(16, count) }, (_, i) => values[i]);
  out(`  values: ${shown.map(formatValue).join(' ')}${count > 16 ? ' ...' : ''}`);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
    sum += values[i];
  }
  out(`  min ${formatValue(min)}  max ${formatValue(max)}  mean ${formatValue(sum / count)}`);
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

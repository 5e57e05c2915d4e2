/**
 * Draws training loss curves as an SVG from the `losses` that `adsc train` keeps in every
 * checkpoint's trainer_state.json (one mean loss per optimizer step). Each run is a faint line of
 * the raw step losses and a solid line of their moving average; several runs share the axes.
 *
 *   npx tsx packages/train/scripts/loss-curve.ts OUT.svg RUN_DIR[=label] [RUN_DIR[=label] ...]
 *        [--window N] [--title TEXT]
 *
 * RUN_DIR is a checkpoint directory (or a trainer_state.json file); the label defaults to its name.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { window: { type: 'string', default: '50' }, title: { type: 'string', default: 'training loss' } },
  allowPositionals: true,
});
const [out, ...runArgs] = positionals;
if (!out || runArgs.length === 0) {
  console.error('usage: loss-curve.ts OUT.svg RUN_DIR[=label] [RUN_DIR[=label] ...] [--window N] [--title TEXT]');
  process.exit(2);
}
const window = Number(values.window);

interface Run {
  label: string;
  losses: number[];
}

const runs: Run[] = runArgs.map((arg) => {
  const [path, label] = arg.split('=');
  const file = statSync(path).isDirectory() ? join(path, 'trainer_state.json') : path;
  const state = JSON.parse(readFileSync(file, 'utf8')) as { losses?: unknown };
  if (!Array.isArray(state.losses) || state.losses.length === 0) throw new Error(`${file}: no "losses" list`);
  return { label: label ?? basename(path), losses: state.losses as number[] };
});

/** Mean of the last `w` values at each step (fewer at the start). */
function movingAverage(xs: number[], w: number): number[] {
  let sum = 0;
  return xs.map((x, i) => {
    sum += x;
    if (i >= w) sum -= xs[i - w];
    return sum / Math.min(i + 1, w);
  });
}

const W = 720;
const H = 400;
const M = { left: 60, right: 20, top: 36, bottom: 48 };
const steps = Math.max(...runs.map((r) => r.losses.length));
const all = runs.flatMap((r) => r.losses);
// Log-scale y between round bounds around the data.
const yLo = Math.log10(Math.min(...all));
const yHi = Math.log10(Math.max(...all));
const lo = Math.floor(yLo);
const hi = Math.ceil(yHi);
const x = (step: number) => M.left + ((step - 1) / Math.max(1, steps - 1)) * (W - M.left - M.right);
const y = (loss: number) => M.top + ((hi - Math.log10(loss)) / (hi - lo)) * (H - M.top - M.bottom);
const path = (ys: number[]) => ys.map((v, i) => `${i ? 'L' : 'M'}${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`).join('');
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];

const parts: string[] = [];
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${values.title}</text>`);
for (let e = lo; e <= hi; e++) {
  for (const m of [1, 2, 5]) {
    const v = m * 10 ** e;
    if (Math.log10(v) > hi + 1e-9) continue;
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
}
const tick = 10 ** Math.floor(Math.log10(steps));
const xStep = steps / tick >= 5 ? tick : tick / 2;
for (let s = 0; s <= steps; s += xStep) {
  const sx = x(Math.max(1, s));
  parts.push(`<line x1="${sx}" x2="${sx}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
  parts.push(`<text x="${sx}" y="${H - M.bottom + 16}" text-anchor="middle">${s}</text>`);
}
parts.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle">optimizer step</text>`);
parts.push(`<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">loss per labelled token (log scale)</text>`);
runs.forEach((r, i) => {
  const c = COLORS[i % COLORS.length];
  parts.push(`<path d="${path(r.losses)}" fill="none" stroke="${c}" stroke-opacity="0.2"/>`);
  parts.push(`<path d="${path(movingAverage(r.losses, window))}" fill="none" stroke="${c}" stroke-width="2"/>`);
  parts.push(`<text x="${W - M.right - 8}" y="${M.top + 16 + 16 * i}" text-anchor="end" fill="${c}">${r.label} (mean of ${window} steps)</text>`);
});
parts.push('</svg>');
writeFileSync(out, `${parts.join('\n')}\n`);
console.log(`wrote ${out}: ${runs.length} run(s), ${steps} steps`);

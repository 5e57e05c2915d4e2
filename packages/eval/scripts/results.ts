/**
 * Turns `adsc eval --json` reports into the results table (markdown, on stdout) and a plot of
 * accuracy against the counted reduction of decoder FLOPs (SVG), one point per report.
 *
 *   npx tsx packages/eval/scripts/results.ts OUT.svg REPORT.json[=label] [REPORT.json[=label] ...] [--type T]
 *
 * --type T plots the accuracy on questions of type T instead of the overall accuracy (the table is
 * the same). The accuracy axis spans the tens that hold the points, so close results stay apart.
 * The label defaults to the report's schedule, with " + adapter" when one was applied and
 * " (blind)" for a blind run. Reports of one method (the label's first word) are joined by a line
 * in the order given. Blind runs are drawn as a dashed horizontal line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { EvalReport } from '../src/index.js';

const { values, positionals } = parseArgs({ options: { type: { type: 'string' } }, allowPositionals: true });
const [out, ...args] = positionals;
if (!out || args.length === 0) {
  console.error('usage: results.ts OUT.svg REPORT.json[=label] [REPORT.json[=label] ...] [--type T]');
  process.exit(2);
}
const plotted = values.type;

interface Point {
  label: string;
  report: EvalReport;
}

const points: Point[] = args.map((arg) => {
  // Split at the first '=' only: a label may hold one ("FastV K=2").
  const at = arg.indexOf('=');
  const [file, label] = at < 0 ? [arg, undefined] : [arg.slice(0, at), arg.slice(at + 1)];
  const report = JSON.parse(readFileSync(file, 'utf8')) as EvalReport;
  const fallback = `${report.schedule}${report.adapter ? ` + adapter ${basename(report.adapter)}` : ''}${report.blind ? ' (blind)' : ''}`;
  return { label: label ?? fallback, report };
});

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const types = [...new Set(points.flatMap((p) => Object.keys(p.report.per_type)))].sort();
const base = points.find((p) => p.report.schedule === 'none' && !p.report.blind && !p.report.adapter)?.report;
console.log(`| run | accuracy | kept of base | ${types.join(' | ')} | decoder FLOPs | total FLOPs | KV cache | questions |`);
console.log(`| --- | ---: | ---: | ${types.map(() => '---:').join(' | ')} | ---: | ---: | ---: | ---: |`);
for (const { label, report: r } of points) {
  const kept = base && !r.blind ? pct(r.accuracy / base.accuracy) : '';
  const reduction = (x: number) => (x === 0 ? '0' : `-${pct(x)}`);
  console.log(
    `| ${label} | ${pct(r.accuracy)} | ${kept} | ${types.map((t) => (t in r.per_type ? pct(r.per_type[t]) : '')).join(' | ')} | ` +
      `${reduction(r.decoder_flops_reduction)} | ${reduction(r.flops_reduction)} | ${reduction(r.kv_reduction)} | ${r.count} |`,
  );
}

// The plot: x = decoder FLOPs reduction (0 .. 100 %), y = the plotted accuracy.
const W = 720;
const H = 440;
const M = { left: 60, right: 200, top: 36, bottom: 48 };
/** The plotted accuracy of a report: overall, or on questions of type --type. */
const acc = (r: EvalReport): number => {
  if (plotted === undefined) return r.accuracy;
  if (!(plotted in r.per_type)) throw new Error(`--type ${plotted}: report of ${r.schedule} has no such questions (types: ${Object.keys(r.per_type).join(', ')})`);
  return r.per_type[plotted];
};
// The accuracy axis: the tens that hold every point.
const lo = Math.floor(10 * Math.min(...points.map((p) => acc(p.report)))) / 10;
const hi = Math.min(1, Math.ceil(10 * Math.max(...points.map((p) => acc(p.report)))) / 10);
const x = (v: number) => M.left + v * (W - M.left - M.right);
const y = (v: number) => M.top + ((hi - v) / (hi - lo)) * (H - M.top - M.bottom);
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#bcbd22', '#7f7f7f', '#084081', '#f781bf'];
const methods = [...new Set(points.filter((p) => !p.report.blind).map((p) => p.label.split(' ')[0]))];
const what = plotted === undefined ? 'accuracy' : `accuracy on ${plotted} questions`;
const parts: string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="${(W - M.right + M.left) / 2}" y="20" text-anchor="middle" font-size="14">${what} against counted decoder FLOPs removed</text>`,
];
for (let k = 0; k <= 10; k++) {
  const v = k / 10;
  parts.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${y(lo)}" y2="${y(hi)}" stroke="#eee"/>`, `<text x="${x(v)}" y="${y(lo) + 16}" text-anchor="middle">${10 * k} %</text>`);
}
for (let k = Math.round(100 * lo); k <= Math.round(100 * hi); k += 5) {
  const v = k / 100;
  parts.push(`<line x1="${x(0)}" x2="${x(1)}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`, `<text x="${x(0) - 6}" y="${y(v) + 4}" text-anchor="end">${k} %</text>`);
}
parts.push(`<text x="${(W - M.right + M.left) / 2}" y="${H - 10}" text-anchor="middle">decoder FLOPs removed (counted, prefill)</text>`);
parts.push(`<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">${what}</text>`);
for (const p of points.filter((q) => q.report.blind)) {
  parts.push(`<line x1="${x(0)}" x2="${x(1)}" y1="${y(acc(p.report))}" y2="${y(acc(p.report))}" stroke="#999" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${x(1) + 6}" y="${y(acc(p.report)) + 4}" fill="#666">${p.label}</text>`);
}
methods.forEach((method, i) => {
  const c = COLORS[i % COLORS.length];
  const ms = points.filter((p) => !p.report.blind && p.label.split(' ')[0] === method);
  const xy = ms.map((p) => [x(p.report.decoder_flops_reduction), y(acc(p.report))]);
  if (xy.length > 1) parts.push(`<path d="${xy.map(([a, b], k) => `${k ? 'L' : 'M'}${a.toFixed(1)},${b.toFixed(1)}`).join('')}" fill="none" stroke="${c}" stroke-width="2"/>`);
  for (const [a, b] of xy) parts.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="4" fill="${c}"/>`);
  parts.push(`<text x="${x(1) + 6}" y="${M.top + 16 * (i + 1)}" fill="${c}">${method}</text>`);
});
parts.push('</svg>');
writeFileSync(out, `${parts.join('\n')}\n`);
console.error(`wrote ${out}: ${points.length} reports`);

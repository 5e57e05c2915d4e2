/**
 * Turns `adsc eval --json` reports into the results table (markdown, on stdout) and a plot of
 * accuracy against the counted reduction of decoder FLOPs (SVG), one point per report.
 *
 *   npx tsx packages/eval/scripts/results.ts OUT.svg REPORT.json[=label] [REPORT.json[=label] ...]
 *
 * The label defaults to the report's schedule, with " + adapter" when one was applied and
 * " (blind)" for a blind run. Reports of one method (the label's first word) are joined by a line
 * in the order given. Blind runs are drawn as a dashed horizontal line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { EvalReport } from '../src/index.js';

const [out, ...args] = process.argv.slice(2);
if (!out || args.length === 0) {
  console.error('usage: results.ts OUT.svg REPORT.json[=label] [REPORT.json[=label] ...]');
  process.exit(2);
}

interface Point {
  label: string;
  report: EvalReport;
}

const points: Point[] = args.map((arg) => {
  const [file, label] = arg.split('=');
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

// The plot: x = decoder FLOPs reduction (0 .. 100 %), y = accuracy (0 .. 100 %).
const W = 720;
const H = 440;
const M = { left: 60, right: 200, top: 36, bottom: 48 };
const x = (v: number) => M.left + v * (W - M.left - M.right);
const y = (v: number) => M.top + (1 - v) * (H - M.top - M.bottom);
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const methods = [...new Set(points.filter((p) => !p.report.blind).map((p) => p.label.split(' ')[0]))];
const parts: string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="${(W - M.right + M.left) / 2}" y="20" text-anchor="middle" font-size="14">accuracy against counted decoder FLOPs removed</text>`,
];
for (let v = 0; v <= 1.0001; v += 0.1) {
  parts.push(`<line x1="${x(0)}" x2="${x(1)}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`, `<text x="${x(0) - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(100 * v)} %</text>`);
  parts.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${y(0)}" y2="${y(1)}" stroke="#eee"/>`, `<text x="${x(v)}" y="${y(0) + 16}" text-anchor="middle">${Math.round(100 * v)} %</text>`);
}
parts.push(`<text x="${(W - M.right + M.left) / 2}" y="${H - 10}" text-anchor="middle">decoder FLOPs removed (counted, prefill)</text>`);
parts.push(`<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">accuracy</text>`);
for (const p of points.filter((q) => q.report.blind)) {
  parts.push(`<line x1="${x(0)}" x2="${x(1)}" y1="${y(p.report.accuracy)}" y2="${y(p.report.accuracy)}" stroke="#999" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${x(1) + 6}" y="${y(p.report.accuracy) + 4}" fill="#666">${p.label}</text>`);
}
methods.forEach((method, i) => {
  const c = COLORS[i % COLORS.length];
  const ms = points.filter((p) => !p.report.blind && p.label.split(' ')[0] === method);
  const xy = ms.map((p) => [x(p.report.decoder_flops_reduction), y(p.report.accuracy)]);
  if (xy.length > 1) parts.push(`<path d="${xy.map(([a, b], k) => `${k ? 'L' : 'M'}${a.toFixed(1)},${b.toFixed(1)}`).join('')}" fill="none" stroke="${c}" stroke-width="2"/>`);
  for (const [a, b] of xy) parts.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="4" fill="${c}"/>`);
  parts.push(`<text x="${x(1) + 6}" y="${M.top + 16 * (i + 1)}" fill="${c}">${method}</text>`);
});
parts.push('</svg>');
writeFileSync(out, `${parts.join('\n')}\n`);
console.error(`wrote ${out}: ${points.length} reports`);

/**
 * Makes the figures of docs/adsc.md from the accounting (no weights, no PyTorch):
 * - docs/adsc-tokens.svg: tokens each decoder layer of LLaVA-1.5-7B processes under none, the ADSC
 *   preset, FastV and PyramidDrop (576 vision + 64 text tokens);
 * - on stdout, the markdown table of FLOPs and KV reductions by both formulas.
 *
 *   pnpm tsx packages/model/scripts/schedule-figures.ts
 */
import { writeFileSync } from 'node:fs';
import { PRESETS, countSchedule, parseSchedule } from '../src/index.js';

const cfg = PRESETS['llava-1.5-7b'];
const LAYERS = cfg.text.numLayers;
const TEXT = 64;

const TABLE = [
  'none',
  'adsc',
  'adsc:2=0.5',
  'adsc:2=0.25',
  'adsc:2=0.5,8=0.5,16=0.5,24=0.5',
  'fastv:K=2,R=0.5',
  'fastv:K=2,R=0.75',
  'pdrop:layers=8,16,24,ratio=0.5',
  'pdrop:layers=8,16,24,ratio=0.25',
];

function table(): string {
  const rows = TABLE.map((spec) => {
    const s = parseSchedule(spec, { numLayers: LAYERS });
    const exact = countSchedule(cfg, s, { textTokens: TEXT, formula: 'exact' });
    const fastv = countSchedule(cfg, s, { textTokens: TEXT, formula: 'fastv' });
    const pct = (x: number) => (x === 0 ? '0' : `-${(100 * x).toFixed(1)} %`);
    const refs = s.referenceLayers(LAYERS);
    return `| \`${s.spec}\` | ${(exact.scheduled.total / 1e12).toFixed(2)} | ${pct(exact.reduction.flops)} | ${pct(fastv.reduction.flops)} | ${pct(exact.reduction.kv)} | ${refs.length ? refs.join(', ') : '-'} |`;
  });
  return [
    '| schedule | TFLOP (exact) | FLOPs, exact | FLOPs, FastV formula | peak KV | layers without FlashAttention |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}

/** A step chart: one polyline per schedule, tokens (y) per layer (x). */
function svg(): string {
  const series = [
    { spec: 'none', color: '#888888', dash: '6 4' },
    { spec: 'adsc', color: '#d62728', dash: '' },
    { spec: 'fastv', color: '#1f77b4', dash: '' },
    { spec: 'pdrop', color: '#2ca02c', dash: '' },
  ];
  const width = 720;
  const height = 360;
  const m = { left: 60, right: 180, top: 30, bottom: 50 };
  const maxTokens = TEXT + 576;
  const x = (layer: number) => m.left + (layer / LAYERS) * (width - m.left - m.right);
  const y = (tokens: number) => height - m.bottom - (tokens / maxTokens) * (height - m.top - m.bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${m.left}" y="18" font-size="14">LLaVA-1.5-7B: tokens each decoder layer processes (576 vision + ${TEXT} text)</text>`);
  for (let t = 0; t <= maxTokens; t += 128) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${y(t)}" y2="${y(t)}" stroke="#eeeeee"/>`);
    parts.push(`<text x="${m.left - 8}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  for (let l = 0; l <= LAYERS; l += 4) {
    parts.push(`<text x="${x(l)}" y="${height - m.bottom + 18}" text-anchor="middle">${l}</text>`);
  }
  parts.push(`<text x="${(m.left + width - m.right) / 2}" y="${height - 12}" text-anchor="middle">decoder layer</text>`);
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${y(0)}" y2="${y(0)}" stroke="#333333"/>`);
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${y(0)}" y2="${y(maxTokens)}" stroke="#333333"/>`);
  series.forEach(({ spec, color, dash }, i) => {
    const s = parseSchedule(spec, { numLayers: LAYERS });
    const plan = s.plan(576, LAYERS);
    const kv = countSchedule(cfg, s, { textTokens: TEXT }).reduction.kv;
    // Layer l occupies [l, l + 1) on the x axis.
    const points = plan.flatMap((v, l) => [`${x(l)},${y(TEXT + v)}`, `${x(l + 1)},${y(TEXT + v)}`]).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    const ly = m.top + 20 + i * 38;
    parts.push(`<line x1="${width - m.right + 16}" x2="${width - m.right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    parts.push(`<text x="${width - m.right + 46}" y="${ly + 4}">${spec}</text>`);
    parts.push(`<text x="${width - m.right + 46}" y="${ly + 18}" fill="#555555" font-size="10">${s.spec === 'none' ? 'baseline' : `KV -${(100 * kv).toFixed(1)} %`}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const out = new URL('../../../docs/adsc-tokens.svg', import.meta.url).pathname;
writeFileSync(out, svg());
console.log(table());
console.log(`\nwrote ${out}`);

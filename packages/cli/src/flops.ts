/**
 * `adsc flops --config (llava-1.5-7b | llava-1.5-13b | DIR) --schedule SPEC [--text-tokens N]
 *             [--formula exact|fastv] [--positions original|renumber] [--json] [--plot]`
 *
 * What a schedule costs, counted (no weights needed): per-layer tokens and FLOPs, the totals for the
 * unreduced model and the schedule, and the FLOPs and KV-cache reductions. `--plot` draws the
 * tokens each layer processes as bars in the terminal.
 */
import { PRESETS, checkContext, countSchedule, imageFeatureCount, parseSchedule, resolveConfig, type Formula, type PrefillCount } from '@adsc/model';
import { UsageError } from './errors.js';

export interface FlopsOptions {
  config: string;
  schedule: string;
  textTokens: number;
  formula: string;
  positions?: string;
  json: boolean;
  plot: boolean;
}

export function flops(opts: FlopsOptions, out: (line: string) => void): void {
  if (opts.formula !== 'exact' && opts.formula !== 'fastv') throw new UsageError(`--formula must be exact or fastv, got ${JSON.stringify(opts.formula)}`);
  if (opts.positions !== undefined && opts.positions !== 'original' && opts.positions !== 'renumber') {
    throw new UsageError(`--positions must be original or renumber, got ${JSON.stringify(opts.positions)}`);
  }
  const cfg = resolveConfig(opts.config);
  const schedule = parseSchedule(opts.schedule, { numLayers: cfg.text.numLayers, positions: opts.positions as 'original' | 'renumber' | undefined });
  const formula = opts.formula as Formula;
  checkContext(imageFeatureCount(cfg) + opts.textTokens, 0, cfg, opts.config);
  const r = countSchedule(cfg, schedule, { textTokens: opts.textTokens, formula });
  const vision = imageFeatureCount(cfg);

  if (opts.json) {
    const totals = (c: PrefillCount) => ({
      flops: c.total,
      kv_cache_elements: c.kvCacheElements,
      breakdown: { vision_tower: c.vision, projector: c.projector, ranking: c.ranking, decoder: c.decoder, lm_head: c.lmHead },
    });
    out(JSON.stringify({
      config: PRESETS[opts.config] ? opts.config : cfg.layout,
      schedule: schedule.spec,
      formula,
      text_tokens: opts.textTokens,
      vision_tokens: vision,
      baseline: totals(r.baseline),
      scheduled: totals(r.scheduled),
      reduction: r.reduction,
      reference_attention_layers: schedule.referenceLayers(cfg.text.numLayers),
      layers: r.scheduled.layers.map((l) => ({ layer: l.layer, tokens: l.tokens, vision_tokens: l.visionTokens, flops: l.flops })),
    }));
    return;
  }

  out(`${opts.config}: ${vision} vision + ${opts.textTokens} text tokens, ${cfg.text.numLayers} decoder layers, formula ${formula}`);
  out(`schedule: ${schedule.spec} (positions ${schedule.positions})`);
  out('');
  const rows: [string, number, number][] = [
    ['vision tower', r.baseline.vision, r.scheduled.vision],
    ['projector', r.baseline.projector, r.scheduled.projector],
    ['ranking', r.baseline.ranking, r.scheduled.ranking],
    ['decoder', r.baseline.decoder, r.scheduled.decoder],
    ['lm_head', r.baseline.lmHead, r.scheduled.lmHead],
  ];
  out(`${'FLOPs'.padEnd(14)}${'baseline'.padStart(14)}${'scheduled'.padStart(14)}`);
  for (const [name, base, sched] of rows) if (base > 0 || sched > 0) out(`${name.padEnd(14)}${tflop(base).padStart(14)}${tflop(sched).padStart(14)}`);
  out(`${'total'.padEnd(14)}${tflop(r.baseline.total).padStart(14)}${tflop(r.scheduled.total).padStart(14)}   ${percent(r.reduction.flops)}`);
  out(`${'KV elements'.padEnd(14)}${millions(r.baseline.kvCacheElements).padStart(14)}${millions(r.scheduled.kvCacheElements).padStart(14)}   ${percent(r.reduction.kv)}`);
  const refs = schedule.referenceLayers(cfg.text.numLayers);
  out(`layers that need attention probabilities (no FlashAttention): ${refs.length ? refs.join(', ') : 'none'}`);
  out('');
  if (opts.plot) {
    plot(r.baseline.layers[0].tokens, r.scheduled.layers, out);
    return;
  }
  out(`${'layer'.padEnd(7)}${'tokens'.padStart(8)}${'vision'.padStart(8)}${'GFLOP'.padStart(10)}`);
  for (const l of r.scheduled.layers) out(`${String(l.layer).padEnd(7)}${String(l.tokens).padStart(8)}${String(l.visionTokens).padStart(8)}${(l.flops / 1e9).toFixed(1).padStart(10)}`);
}

/** One bar per layer: vision tokens as █, text tokens as ░, scaled to the widest layer. */
function plot(widest: number, layers: PrefillCount['layers'], out: (line: string) => void): void {
  const width = 50;
  const scale = width / widest;
  out(`tokens per layer (█ vision, ░ text; full width = ${widest})`);
  for (const l of layers) {
    const vision = Math.round(l.visionTokens * scale);
    const text = Math.max(0, Math.round(l.tokens * scale) - vision);
    out(`${String(l.layer).padStart(3)} ${'█'.repeat(vision)}${'░'.repeat(text)} ${l.tokens}`);
  }
}

/** FLOPs in the unit that keeps three significant decimals readable. */
function tflop(f: number): string {
  if (f >= 1e12) return `${(f / 1e12).toFixed(3)} TFLOP`;
  if (f >= 1e9) return `${(f / 1e9).toFixed(3)} GFLOP`;
  return `${(f / 1e6).toFixed(3)} MFLOP`;
}
const millions = (n: number) => `${(n / 1e6).toFixed(2)} M`;
const percent = (fraction: number) => `${fraction > 0 ? '-' : '+'}${Math.abs(100 * fraction).toFixed(1)} %`;

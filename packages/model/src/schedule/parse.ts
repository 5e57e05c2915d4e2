/**
 * The --schedule grammar:
 *
 *   none
 *   adsc:L=r[,L=r...]            before layer L keep max(1, floor(n r)) vision tokens, uniformly;
 *                                r is a decimal in (0, 1] or a fraction p/q
 *   fastv:K=k,R=rho              rank by layer K-1's attention, keep round(n (1 - rho)) from layer K
 *   pdrop:layers=a,b,c,ratio=rho before each listed layer keep max(1, floor(n rho)), ranked by that
 *                                layer's q/k of the last token
 *   adsc | fastv | pdrop         the presets (ADSC_PRESET, fastv:K=2,R=0.5, pdrop:layers=8,16,24,ratio=0.5)
 *
 * Layers are 0-based decoder layer indices. Position ids stay original for adsc and fastv and are
 * renumbered for pdrop unless `positions` says otherwise.
 */
import { adscSchedule, type AdscEntry, type Ratio } from './adsc.js';
import { fastvSchedule } from './fastv.js';
import { pdropSchedule } from './pdrop.js';
import { NO_SCHEDULE, type PositionMode, type Schedule } from './schedule.js';

/**
 * The project's default ADSC schedule for LLaVA-1.5 (32 layers): halve the vision tokens before
 * layers 6, 12 and 18 (576 -> 288 -> 144 -> 72). The paper's exact layers and ratios are not public;
 * this regular schedule was chosen because its counted cost on LLaVA-1.5-7B (64 text tokens, exact
 * formula) is -53.3 % FLOPs and -55.5 % peak KV, next to the paper's reported -53.7 % and -56.7 %.
 */
export const ADSC_PRESET = 'adsc:6=0.5,12=0.5,18=0.5';
export const FASTV_PRESET = 'fastv:K=2,R=0.5';
export const PDROP_PRESET = 'pdrop:layers=8,16,24,ratio=0.5';

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

export interface ScheduleOptions {
  /** Override the method's default position mode. */
  positions?: PositionMode;
  /** Check that every layer index exists in a model of this depth. */
  numLayers?: number;
}

export function parseSchedule(spec: string, opts: ScheduleOptions = {}): Schedule {
  const text = spec.trim();
  const presets: Record<string, string> = { adsc: ADSC_PRESET, fastv: FASTV_PRESET, pdrop: PDROP_PRESET };
  if (text === 'none') {
    if (opts.positions === 'renumber') throw new ScheduleError('--positions renumber has no effect without a schedule');
    return NO_SCHEDULE;
  }
  if (presets[text]) {
    try {
      return parseSchedule(presets[text], opts);
    } catch (e) {
      throw new ScheduleError(`preset ${text} (${presets[text]}): ${(e as Error).message.replace(/^schedule "[^"]*": /, '')}`);
    }
  }
  const colon = text.indexOf(':');
  const method = colon < 0 ? text : text.slice(0, colon);
  const body = colon < 0 ? '' : text.slice(colon + 1);
  const fail = (why: string): never => {
    throw new ScheduleError(`schedule ${JSON.stringify(spec)}: ${why}`);
  };
  const layerIndex = (s: string, min: number): number => {
    if (!/^\d+$/.test(s)) fail(`layer ${JSON.stringify(s)} is not a non-negative integer`);
    const l = Number(s);
    if (l < min) fail(`layer ${l} must be >= ${min}`);
    if (opts.numLayers !== undefined && l >= opts.numLayers) fail(`layer ${l} does not exist in a model of ${opts.numLayers} layers`);
    return l;
  };
  if (!['adsc', 'fastv', 'pdrop'].includes(method)) fail(`unknown method ${JSON.stringify(method)} (known: none, adsc, fastv, pdrop)`);
  const items = body.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) fail(`expected ${method}:... (see the grammar in docs/adsc.md)`);

  switch (method) {
    case 'adsc': {
      const entries: AdscEntry[] = items.map((item) => {
        const [l, r, extra] = item.split('=');
        if (r === undefined || extra !== undefined) fail(`entry ${JSON.stringify(item)} is not L=r`);
        return { layer: layerIndex(l, 0), ratio: parseRatio(r, fail) };
      });
      const layers = entries.map((e) => e.layer);
      if (new Set(layers).size !== layers.length) fail('a layer appears twice');
      return adscSchedule(text, entries, opts.positions ?? 'original');
    }
    case 'fastv': {
      const kv = keyValues(items, ['K', 'R'], fail);
      const k = layerIndex(kv.K?.[0] ?? fail('K is missing'), 1);
      const rho = decimal(kv.R?.[0] ?? fail('R is missing'), fail);
      if (kv.K.length > 1 || kv.R.length > 1) fail('K and R take one value each');
      if (!(rho >= 0 && rho < 1)) fail(`R must be in [0, 1), got ${rho}`);
      return fastvSchedule(text, k, rho, opts.positions ?? 'original');
    }
    case 'pdrop': {
      const kv = keyValues(items, ['layers', 'ratio'], fail);
      const stages = (kv.layers ?? fail('layers is missing')).map((s) => layerIndex(s, 1));
      if (new Set(stages).size !== stages.length) fail('a layer appears twice');
      const ratio = decimal(kv.ratio?.[0] ?? fail('ratio is missing'), fail);
      if (kv.ratio.length > 1) fail('ratio takes one value');
      if (!(ratio > 0 && ratio <= 1)) fail(`ratio must be in (0, 1], got ${ratio}`);
      return pdropSchedule(text, stages, ratio, opts.positions ?? 'renumber');
    }
    default:
      return fail(`unknown method ${JSON.stringify(method)} (known: none, adsc, fastv, pdrop)`);
  }
}

/** key=value items; a bare item continues the previous key's list ("layers=8,16,24"). */
function keyValues(items: string[], keys: string[], fail: (why: string) => never): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let last: string | undefined;
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 0) {
      if (last === undefined) fail(`${JSON.stringify(item)} has no key`);
      out[last!].push(item);
      continue;
    }
    const key = item.slice(0, eq);
    if (!keys.includes(key)) fail(`unknown key ${JSON.stringify(key)} (expected ${keys.join(', ')})`);
    if (out[key]) fail(`${key} is given twice`);
    out[key] = [item.slice(eq + 1)];
    last = key;
  }
  return out;
}

function decimal(s: string, fail: (why: string) => never): number {
  if (!/^(\d+\.?\d*|\.\d+)$/.test(s)) fail(`${JSON.stringify(s)} is not a decimal number`);
  return Number(s);
}

function parseRatio(s: string, fail: (why: string) => never): Ratio {
  const frac = /^(\d+)\/(\d+)$/.exec(s);
  if (frac) {
    const [p, q] = [Number(frac[1]), Number(frac[2])];
    if (!(q > 0 && p > 0 && p <= q)) fail(`ratio ${s} must be a fraction in (0, 1]`);
    return { text: s, fraction: [p, q], value: p / q };
  }
  const value = decimal(s, fail);
  if (!(value > 0 && value <= 1)) fail(`ratio ${s} must be in (0, 1]`);
  return { text: s, value };
}

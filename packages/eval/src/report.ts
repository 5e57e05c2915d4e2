/**
 * The JSON report of an evaluation (`adsc eval --json`), and the exact merge of shard reports.
 *
 * The headline fields are the ones the issue names: accuracy, per_type, count, flops_reduction,
 * kv_reduction, seconds. Next to them the report carries the raw counts and sums (correct,
 * per_type_count, per_type_correct, answers, flops_total, kv_total) that make a merge exact, and
 * what was evaluated (schedule, blind, limit, records, shards), so reports of different runs are
 * never merged by mistake.
 */
import { mergeTallies, majorityShare, type CostTally, type Tally } from './score.js';

/** Which shards a report covers: `indices` of `of`; null for an unsharded run. */
export interface Shards {
  of: number;
  indices: number[];
}

/** What was evaluated; two reports merge only when these agree (shards aside). */
export interface RunInfo {
  model: string;
  /** The LoRA adapter applied to the model, or null. */
  adapter: string | null;
  data: string;
  schedule: string;
  blind: boolean;
  /** --limit, or null for the whole file. */
  limit: number | null;
  /** Records in the evaluated set before sharding (after --limit). */
  records: number;
  shards: Shards | null;
}

/** A run's scores and costs, and the RunInfo that says what was run. */
export interface EvalReport extends RunInfo {
  accuracy: number;
  per_type: Record<string, number>;
  count: number;
  flops_reduction: number;
  kv_reduction: number;
  seconds: number;
  /** The reduction of the decoder layers' FLOPs alone (flops_reduction also counts the vision tower, which no schedule shortens). */
  decoder_flops_reduction: number;
  correct: number;
  per_type_count: Record<string, number>;
  per_type_correct: Record<string, number>;
  /** Majority-answer share per type: what a model that ignores the image can reach. */
  chance: Record<string, number>;
  answers: Record<string, Record<string, number>>;
  /** Mean counted prefill FLOPs and KV elements per question, with the schedule. */
  flops_per_question: number;
  kv_per_question: number;
  flops_total: CostTally;
  decoder_flops_total: CostTally;
  kv_total: CostTally;
}

export class ReportError extends Error {
  readonly code = 'ReportError';
}

export function toReport(t: Tally, info: RunInfo): EvalReport {
  const types = Object.keys(t.perType).sort();
  const byType = (f: (name: string) => number) => Object.fromEntries(types.map((name) => [name, f(name)]));
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const reduction = (c: CostTally) => (c.baseline === 0 ? 0 : 1 - c.scheduled / c.baseline);
  return {
    accuracy: ratio(t.correct, t.count),
    per_type: byType((n) => ratio(t.perType[n].correct, t.perType[n].count)),
    count: t.count,
    flops_reduction: reduction(t.flops),
    kv_reduction: reduction(t.kv),
    seconds: t.seconds,
    decoder_flops_reduction: reduction(t.decoderFlops),
    correct: t.correct,
    per_type_count: byType((n) => t.perType[n].count),
    per_type_correct: byType((n) => t.perType[n].correct),
    chance: byType((n) => majorityShare(t.perType[n].answers)),
    answers: Object.fromEntries(types.map((n) => [n, sortedAnswers(t.perType[n].answers)])),
    flops_per_question: ratio(t.flops.scheduled, t.count),
    kv_per_question: ratio(t.kv.scheduled, t.count),
    flops_total: { ...t.flops },
    decoder_flops_total: { ...t.decoderFlops },
    kv_total: { ...t.kv },
    ...info,
  };
}

function sortedAnswers(a: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(a).sort(([x], [y]) => x.localeCompare(y)));
}

/** The tally and run info a report was made from; `source` (a file name) is named in every error. */
export function readReport(json: unknown, source: string): { tally: Tally; info: RunInfo } {
  const fail = (what: string): never => {
    throw new ReportError(`${source}: ${what}`);
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('not an adsc eval --json report (not an object)');
  const r = json as Record<string, unknown>;
  const num = (k: string, v: unknown = r[k]): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fail(`field "${k}" must be a number >= 0`));
  const str = (k: string): string => (typeof r[k] === 'string' ? (r[k] as string) : fail(`field "${k}" must be a string`));
  const obj = (k: string, v: unknown = r[k]): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`field "${k}" must be an object`);
  const cost = (k: string): CostTally => ({ scheduled: num(`${k}.scheduled`, obj(k).scheduled), baseline: num(`${k}.baseline`, obj(k).baseline) });

  const counts = obj('per_type_count');
  const correct = obj('per_type_correct');
  const answers = obj('answers');
  const perType: Tally['perType'] = {};
  for (const name of Object.keys(counts)) {
    const a = obj(`answers.${name}`, answers[name]);
    perType[name] = {
      count: num(`per_type_count.${name}`, counts[name]),
      correct: num(`per_type_correct.${name}`, correct[name]),
      answers: Object.fromEntries(Object.entries(a).map(([k, v]) => [k, num(`answers.${name}.${k}`, v)])),
    };
  }
  if (typeof r.blind !== 'boolean') fail('field "blind" must be true or false');
  const limit = r.limit === null ? null : num('limit');
  let shards: Shards | null = null;
  if (r.shards !== null) {
    const s = obj('shards');
    const indices = Array.isArray(s.indices) && s.indices.every((i) => Number.isInteger(i)) ? (s.indices as number[]) : fail('field "shards.indices" must be a list of integers');
    shards = { of: num('shards.of', s.of), indices };
  }
  return {
    tally: { count: num('count'), correct: num('correct'), perType, flops: cost('flops_total'), decoderFlops: cost('decoder_flops_total'), kv: cost('kv_total'), seconds: num('seconds') },
    info: { model: str('model'), adapter: r.adapter === null ? null : str('adapter'), data: str('data'), schedule: str('schedule'), blind: r.blind as boolean, limit, records: num('records'), shards },
  };
}

/**
 * One report from the reports of disjoint shards of the same evaluation: counts and sums add up,
 * so the result equals the unsharded run's (seconds are summed: total compute time). Refuses
 * reports of different runs (schedule, blind, limit, record count, shard count) and shards that
 * overlap.
 */
export function mergeReports(parts: readonly { source: string; tally: Tally; info: RunInfo }[]): EvalReport {
  if (parts.length === 0) throw new ReportError('nothing to merge');
  const first = parts[0];
  const seen = new Map<number, string>();
  for (const p of parts) {
    for (const key of ['schedule', 'blind', 'limit', 'records'] as const) {
      if (p.info[key] !== first.info[key]) {
        throw new ReportError(`${p.source}: ${key} ${JSON.stringify(p.info[key])} differs from ${JSON.stringify(first.info[key])} in ${first.source}`);
      }
    }
    if (p.info.shards === null) throw new ReportError(`${p.source}: not a shard (run with --shard I/N to merge)`);
    if (p.info.shards.of !== first.info.shards!.of) {
      throw new ReportError(`${p.source}: a shard of ${p.info.shards.of}, but ${first.source} is a shard of ${first.info.shards!.of}`);
    }
    for (const i of p.info.shards.indices) {
      if (seen.has(i)) throw new ReportError(`${p.source}: shard ${i}/${p.info.shards.of} is also in ${seen.get(i)}`);
      seen.set(i, p.source);
    }
  }
  const indices = [...seen.keys()].sort((a, b) => a - b);
  const of = first.info.shards!.of;
  return toReport(mergeTallies(parts.map((p) => p.tally)), { ...first.info, shards: indices.length === of ? null : { of, indices } });
}

/**
 * Scoring: exact match, tallies per question type, chance levels, and the exact merge of tallies.
 *
 * A tally keeps counts and sums, never ratios, so that merging the tallies of disjoint shards
 * gives exactly the tally of the whole run: accuracies and reductions are computed from the sums
 * only when a report is written.
 */

/** Exact match after trimming and lower-casing both sides. */
export function isCorrect(prediction: string, answer: string): boolean {
  return prediction.trim().toLowerCase() === answer.trim().toLowerCase();
}

export interface TypeTally {
  count: number;
  correct: number;
  /** How often each reference answer occurs (for the chance level). */
  answers: Record<string, number>;
}

/** Counted cost of the runs: with the schedule, and what the same prompts cost without one. */
export interface CostTally {
  scheduled: number;
  baseline: number;
}

export interface Tally {
  count: number;
  correct: number;
  perType: Record<string, TypeTally>;
  /** Prefill FLOPs (accounting.ts, formula 'exact'): vision tower, projector, decoder, ranking, lm_head. */
  flops: CostTally;
  /** The decoder layers' share of them, the part token reduction acts on. */
  decoderFlops: CostTally;
  /** KV-cache elements held after prefill. */
  kv: CostTally;
  /** Seconds spent evaluating (summed over shards when merged). */
  seconds: number;
}

/** What one question contributes. */
export interface Scored {
  type: string;
  answer: string;
  prediction: string;
  flops: CostTally;
  decoderFlops: CostTally;
  kv: CostTally;
}

export function emptyTally(): Tally {
  const cost = () => ({ scheduled: 0, baseline: 0 });
  return { count: 0, correct: 0, perType: {}, flops: cost(), decoderFlops: cost(), kv: cost(), seconds: 0 };
}

/** Adds one scored question to `t` (in place) and says whether it was right. */
export function addScored(t: Tally, s: Scored): boolean {
  const right = isCorrect(s.prediction, s.answer);
  const type = (t.perType[s.type] ??= { count: 0, correct: 0, answers: {} });
  const key = s.answer.trim().toLowerCase();
  type.answers[key] = (type.answers[key] ?? 0) + 1;
  type.count++;
  t.count++;
  if (right) {
    type.correct++;
    t.correct++;
  }
  addCost(t.flops, s.flops);
  addCost(t.decoderFlops, s.decoderFlops);
  addCost(t.kv, s.kv);
  return right;
}

function addCost(into: CostTally, c: CostTally): void {
  into.scheduled += c.scheduled;
  into.baseline += c.baseline;
}

/** The tally of the union of disjoint runs. */
export function mergeTallies(tallies: readonly Tally[]): Tally {
  const out = emptyTally();
  for (const t of tallies) {
    out.count += t.count;
    out.correct += t.correct;
    for (const [name, type] of Object.entries(t.perType)) {
      const o = (out.perType[name] ??= { count: 0, correct: 0, answers: {} });
      o.count += type.count;
      o.correct += type.correct;
      for (const [a, n] of Object.entries(type.answers)) o.answers[a] = (o.answers[a] ?? 0) + n;
    }
    addCost(out.flops, t.flops);
    addCost(out.decoderFlops, t.decoderFlops);
    addCost(out.kv, t.kv);
    out.seconds += t.seconds;
  }
  out.perType = Object.fromEntries(Object.entries(out.perType).sort(([a], [b]) => a.localeCompare(b)));
  return out;
}

/** How often each answer occurs per type, answers trimmed and lower-cased. */
export function answerCounts(records: readonly { type: string; answer: string }[]): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const r of records) {
    const c = (counts[r.type] ??= {});
    const key = r.answer.trim().toLowerCase();
    c[key] = (c[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * The chance level of a type: the share of its most frequent answer, which is what a model that
 * ignores the image and always gives that answer scores (0 for no answers).
 */
export function majorityShare(answers: Readonly<Record<string, number>>): number {
  const counts = Object.values(answers);
  const total = counts.reduce((s, n) => s + n, 0);
  return total === 0 ? 0 : Math.max(...counts) / total;
}

import { describe, expect, it } from 'vitest';
import { addScored, emptyTally, mergeReports, readReport, toReport, type RunInfo, type Scored, type Tally } from '../src/index.js';

const info: RunInfo = { model: 'm', adapter: null, data: 'd.json', schedule: 'adsc:2=1/4', blind: false, limit: null, records: 3, shards: null };
const s = (type: string, answer: string, prediction: string, flops: number): Scored => ({
  type, answer, prediction, flops: { scheduled: flops, baseline: 40 }, decoderFlops: { scheduled: flops - 10, baseline: 30 }, kv: { scheduled: flops / 10, baseline: 8 },
});
const questions = [s('color', 'red', 'red', 30), s('color', 'blue', 'green', 20), s('exists', 'yes', 'yes', 10)];
const tallyOf = (items: Scored[], seconds = 1): Tally => {
  const t = emptyTally();
  items.forEach((q) => addScored(t, q));
  t.seconds = seconds;
  return t;
};

describe('toReport', () => {
  const r = toReport(tallyOf(questions, 6), info);

  it('gives accuracy overall and per type from the counts', () => {
    expect(r.accuracy).toBeCloseTo(2 / 3, 12);
    expect(r.per_type).toEqual({ color: 0.5, exists: 1 });
    expect(r.count).toBe(3);
    expect(r.per_type_count).toEqual({ color: 2, exists: 1 });
  });

  it('gives the FLOPs and KV reduction against the same prompts without a schedule', () => {
    expect(r.flops_reduction).toBeCloseTo(1 - 60 / 120, 12); // scheduled 30 + 20 + 10, baseline 3 x 40
    expect(r.kv_reduction).toBeCloseTo(1 - 6 / 24, 12);
    expect(r.decoder_flops_reduction).toBeCloseTo(1 - 30 / 90, 12); // the decoder's part: 20 + 10 + 0 of 3 x 30
    expect(r.flops_per_question).toBe(20);
    expect(r.seconds).toBe(6);
  });

  it('reads back into the same tally and run info', () => {
    expect(readReport(JSON.parse(JSON.stringify(r)), 'r.json')).toEqual({ tally: tallyOf(questions, 6), info });
  });
});

describe('mergeReports', () => {
  const shard = (i: number): { source: string; tally: Tally; info: RunInfo } => ({
    source: `s${i}.json`,
    tally: tallyOf(questions.filter((_, k) => k % 2 === i), 3),
    info: { ...info, shards: { of: 2, indices: [i] } },
  });

  it('gives exactly the unsharded report (seconds summed)', () => {
    expect(mergeReports([shard(0), shard(1)])).toEqual(toReport(tallyOf(questions, 6), info));
  });

  it('says which shards a partial merge covers', () => {
    expect(mergeReports([shard(1)]).shards).toEqual({ of: 2, indices: [1] });
  });

  it('refuses a shard given twice, naming both files', () => {
    expect(() => mergeReports([shard(0), { ...shard(0), source: 'again.json' }])).toThrow('again.json: shard 0/2 is also in s0.json');
  });

  it('refuses reports of different schedules', () => {
    const other = { ...shard(1), info: { ...shard(1).info, schedule: 'none' } };
    expect(() => mergeReports([shard(0), other])).toThrow('s1.json: schedule "none" differs from "adsc:2=1/4" in s0.json');
  });

  it('refuses an unsharded report', () => {
    expect(() => mergeReports([{ source: 'all.json', tally: tallyOf(questions), info }])).toThrow('all.json: not a shard');
  });

  it('names the file and field of a malformed report', () => {
    const bad = { ...toReport(tallyOf(questions), info), kv_total: { scheduled: 'x', baseline: 1 } };
    expect(() => readReport(bad, 'bad.json')).toThrow('bad.json: field "kv_total.scheduled" must be a number >= 0');
  });
});

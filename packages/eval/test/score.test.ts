import { describe, expect, it } from 'vitest';
import { addScored, answerCounts, emptyTally, isCorrect, majorityShare, mergeTallies, type Scored } from '../src/index.js';

const scored = (type: string, answer: string, prediction: string, flops = 10, kv = 4): Scored => ({
  type, answer, prediction, flops: { scheduled: flops, baseline: 10 }, decoderFlops: { scheduled: flops - 1, baseline: 9 }, kv: { scheduled: kv, baseline: 4 },
});

describe('isCorrect', () => {
  it('matches after trimming and lower-casing', () => {
    expect(isCorrect('  Red\n', 'red')).toBe(true);
  });

  it('does not forgive punctuation or extra words', () => {
    expect(isCorrect('red.', 'red')).toBe(false);
    expect(isCorrect('red circle', 'red')).toBe(false);
  });
});

describe('tallies', () => {
  it('count questions, right answers and cost per type', () => {
    const t = emptyTally();
    addScored(t, scored('color', 'red', 'red', 6, 2));
    addScored(t, scored('color', 'blue', 'red', 8, 3));
    addScored(t, scored('exists', 'yes', 'Yes'));
    expect(t.count).toBe(3);
    expect(t.correct).toBe(2);
    expect(t.perType).toEqual({
      color: { count: 2, correct: 1, answers: { red: 1, blue: 1 } },
      exists: { count: 1, correct: 1, answers: { yes: 1 } },
    });
    expect(t.flops).toEqual({ scheduled: 6 + 8 + 10, baseline: 30 });
    expect(t.decoderFlops).toEqual({ scheduled: 5 + 7 + 9, baseline: 27 });
    expect(t.kv).toEqual({ scheduled: 2 + 3 + 4, baseline: 12 });
  });

  it('merge into exactly the tally of all their questions', () => {
    const all = [scored('color', 'red', 'red'), scored('count', '2', '3', 5), scored('color', 'blue', 'blue'), scored('count', '0', '0', 7, 1)];
    const whole = emptyTally();
    all.forEach((s) => addScored(whole, s));
    const [a, b] = [emptyTally(), emptyTally()];
    all.forEach((s, i) => addScored(i % 2 ? b : a, s));
    a.seconds = 1.5;
    b.seconds = 2;
    expect(mergeTallies([a, b])).toEqual({ ...whole, seconds: 3.5 });
  });
});

describe('chance levels', () => {
  it('are the share of the most frequent answer of each type', () => {
    const counts = answerCounts([
      { type: 'exists', answer: 'yes' }, { type: 'exists', answer: 'no' }, { type: 'exists', answer: 'Yes' },
      { type: 'shape', answer: 'circle' },
    ]);
    expect(counts).toEqual({ exists: { yes: 2, no: 1 }, shape: { circle: 1 } });
    expect(majorityShare(counts.exists)).toBeCloseTo(2 / 3, 12);
    expect(majorityShare(counts.shape)).toBe(1);
  });

  it('is 0 for a type with no answers', () => {
    expect(majorityShare({})).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { ANSWERS, answer, generateShapes, llavaRecord, questionText, recordTurns } from '../src/index.js';

const single = generateShapes({ seed: 11, count: 300 });
const multi = generateShapes({ seed: 11, count: 300, turns: 6 });

describe('follow-up questions (--turns)', { timeout: 60_000 }, () => {
  it('keeps the first turns, scenes and images of the same seed with one turn', () => {
    expect(multi.map(({ followUps, ...first }) => first)).toEqual(single.map(({ followUps, ...first }) => first));
  });

  it('gives no follow-ups with one turn and turns - 1 of them otherwise', () => {
    expect(single.every((r) => r.followUps.length === 0)).toBe(true);
    expect(multi.every((r) => r.followUps.length === 5)).toBe(true);
  });

  it('answers every follow-up as the oracle reads it from the scene', () => {
    const wrong = multi.flatMap((r) => r.followUps.filter((t) => answer(r.scene, t.question) !== t.answer || questionText(t.question) !== t.text));
    expect(wrong).toEqual([]);
  });

  it('asks only answers a first turn can have (no count above 5)', () => {
    expect(multi.flatMap((r) => r.followUps.filter((t) => !ANSWERS[t.type].includes(t.answer)))).toEqual([]);
  });

  it('never repeats a question within a record', () => {
    for (const r of multi) expect(new Set([r.text, ...r.followUps.map((t) => t.text)]).size).toBe(6);
  });

  it('draws answers evenly enough that yes and no each answer 40-60 % of the exists follow-ups', () => {
    const exists = multi.flatMap((r) => r.followUps.filter((t) => t.type === 'exists'));
    const yes = exists.filter((t) => t.answer === 'yes').length / exists.length;
    expect(exists.length).toBeGreaterThan(100);
    expect(yes).toBeGreaterThan(0.4);
    expect(yes).toBeLessThan(0.6);
  });

  it('writes follow-ups as alternating human and gpt turns with <image> in the first only', () => {
    const { conversations } = llavaRecord(multi[0]);
    expect(conversations.map((t) => t.from)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 2 ? 'gpt' : 'human')));
    expect(conversations.filter((t) => t.value.includes('<image>'))).toEqual([conversations[0]]);
    expect(conversations.slice(2).map((t) => t.value)).toEqual(multi[0].followUps.flatMap((t) => [t.text, t.answer]));
  });

  it('lists a record\'s turns in the order asked: the first question, then its follow-ups', () => {
    const r = multi[0];
    const turns = recordTurns(r);
    expect(turns[0]).toEqual({ type: r.type, question: r.question, text: r.text, answer: r.answer });
    expect(turns.slice(1)).toEqual(r.followUps);
  });

  it('names a bad turn count', () => {
    expect(() => generateShapes({ seed: 1, count: 1, turns: 0 })).toThrow('turns must be an integer in [1, 32], got 0');
  });
});

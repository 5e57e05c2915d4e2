import { describe, expect, it } from 'vitest';
import { ANSWERS, MAX_OBJECTS, MIN_OBJECTS, OBJECT_SIZES, QUESTION_TYPES, answer, fits, generateShapes, type SceneObject, type ShapesRecord } from '../src/index.js';

const records = generateShapes({ seed: 7, count: 2000 });

describe('generateShapes', { timeout: 60_000 }, () => {
  it('gives the same records for the same seed', () => {
    expect(generateShapes({ seed: 7, count: 50 })).toEqual(records.slice(0, 50));
  });

  it('gives different records for different seeds', () => {
    const other = generateShapes({ seed: 8, count: 50 });
    expect(other.map((r) => r.text)).not.toEqual(records.slice(0, 50).map((r) => r.text));
    expect(other.map((r) => r.scene)).not.toEqual(records.slice(0, 50).map((r) => r.scene));
  });

  it('gives every record the answer the oracle reads from its scene', () => {
    expect(records.filter((r) => answer(r.scene, r.question) !== r.answer)).toEqual([]);
  });

  it('places 3 to 6 objects of the two sizes, inside the image and apart from each other', () => {
    const bad = records.filter(({ scene }) => {
      const n = scene.objects.length;
      const ok = (o: SceneObject, i: number) => (OBJECT_SIZES as readonly number[]).includes(o.size) && fits({ ...scene, objects: scene.objects.filter((_, j) => j !== i) }, o);
      return n < MIN_OBJECTS || n > MAX_OBJECTS || !scene.objects.every(ok);
    });
    expect(bad).toEqual([]);
  });

  it('deals the types evenly: 2000 records give 333 or 334 of each', () => {
    for (const type of QUESTION_TYPES) expect(Math.abs(records.filter((r) => r.type === type).length - 2000 / 6)).toBeLessThan(1);
  });

  it('deals the answers of each type evenly, so the most frequent answer is at chance within one record', () => {
    for (const type of QUESTION_TYPES) {
      const ofType = records.filter((r) => r.type === type);
      for (const a of ANSWERS[type]) {
        const n = ofType.filter((r) => r.answer === a).length;
        expect(Math.abs(n - ofType.length / ANSWERS[type].length)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('leaves a question-only model near chance: a table of the best answer per question text, fitted on one seed, scores within 6 points of chance on another', () => {
    const table = bestAnswerPerText(records);
    const test = generateShapes({ seed: 9, count: 2000 });
    for (const type of QUESTION_TYPES) {
      const ofType = test.filter((r) => r.type === type);
      const accuracy = ofType.filter((r) => table.get(r.text) === r.answer).length / ofType.length;
      expect(accuracy).toBeLessThan(1 / ANSWERS[type].length + 0.06);
    }
  });

  it('scales the objects with the image size', () => {
    const big = generateShapes({ seed: 7, count: 20, imageSize: 336 });
    expect(new Set(big.flatMap((r) => r.scene.objects.map((o) => o.size)))).toEqual(new Set([40, 56]));
  });

  it('names the bad option', () => {
    expect(() => generateShapes({ seed: -1, count: 1 })).toThrow('seed must be an integer in [0, 2^32), got -1');
    expect(() => generateShapes({ seed: 1, count: 0 })).toThrow('count must be an integer >= 1, got 0');
    expect(() => generateShapes({ seed: 1, count: 1, imageSize: 50 })).toThrow('image size must be an integer in [84, 2048], got 50');
  });
});

function bestAnswerPerText(rs: ShapesRecord[]): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const r of rs) {
    const c = counts.get(r.text) ?? new Map<string, number>();
    c.set(r.answer, (c.get(r.answer) ?? 0) + 1);
    counts.set(r.text, c);
  }
  return new Map([...counts].map(([text, c]) => [text, [...c].sort((a, b) => b[1] - a[1])[0][0]]));
}

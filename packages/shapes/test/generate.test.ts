import { describe, expect, it } from 'vitest';
import { ANSWERS, DEFAULT_LAYOUT, QUESTION_TYPES, answer, fits, generateShapes, type Layout, type SceneObject, type ShapesRecord } from '../src/index.js';

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

  it('places 3 to 6 objects of 20 or 28 px, inside the image and apart from each other', () => {
    expect(DEFAULT_LAYOUT).toEqual({ minObjects: 3, maxObjects: 6, sizes: [20, 28] });
    expect(outsideLayout(records, DEFAULT_LAYOUT)).toEqual([]);
  });

  it('places the objects of an easier layout: 1 or 2 objects of 42 or 56 px', () => {
    const layout = { minObjects: 1, maxObjects: 2, sizes: [42, 56] };
    const easy = generateShapes({ seed: 7, count: 300, layout });
    expect(outsideLayout(easy, layout)).toEqual([]);
    expect(new Set(easy.map((r) => r.scene.objects.length))).toEqual(new Set([1, 2]));
    expect(easy.filter((r) => answer(r.scene, r.question) !== r.answer)).toEqual([]);
  });

  it('leaves out the answers a layout cannot have: counts above its most objects, relations with one object', () => {
    const two = generateShapes({ seed: 7, count: 300, layout: { minObjects: 1, maxObjects: 2, sizes: [42] } });
    expect(new Set(two.filter((r) => r.type === 'count').map((r) => r.answer))).toEqual(new Set(['0', '1', '2']));
    const one = generateShapes({ seed: 7, count: 300, layout: { minObjects: 1, maxObjects: 1, sizes: [42] } });
    expect(new Set(one.map((r) => r.type))).toEqual(new Set(['color', 'shape', 'count', 'exists']));
  });

  it('asks only the given question types, in first turns and follow-ups', () => {
    const shapeOnly = generateShapes({ seed: 7, count: 30, turns: 4, types: ['shape'] });
    expect(new Set(shapeOnly.flatMap((r) => [r.type, ...r.followUps.map((t) => t.type)]))).toEqual(new Set(['shape']));
    expect(shapeOnly.filter((r) => answer(r.scene, r.question) !== r.answer)).toEqual([]);
  });

  it('names unknown types, and types no scene of the layout can have', () => {
    expect(() => generateShapes({ seed: 1, count: 1, types: ['size' as never] })).toThrow('types must be some of color, shape, count, exists, left, above, got size');
    expect(() => generateShapes({ seed: 1, count: 1, types: ['left'], layout: { minObjects: 1, maxObjects: 1, sizes: [56] } })).toThrow('no scene of 1 object of 56 px can have a left question');
  });

  it("gives the default layout's records when the layout is given explicitly", () => {
    expect(generateShapes({ seed: 7, count: 50, layout: { minObjects: 3, maxObjects: 6, sizes: [20, 28] } })).toEqual(records.slice(0, 50));
  });

  it('names a bad layout, and a layout whose objects do not fit', () => {
    const layout = (l: Layout) => () => generateShapes({ seed: 1, count: 6, layout: l });
    expect(layout({ minObjects: 3, maxObjects: 2, sizes: [20] })).toThrow('objects must be MIN-MAX with 1 <= MIN <= MAX <= 12, got 3-2');
    expect(layout({ minObjects: 1, maxObjects: 2, sizes: [] })).toThrow('object sizes must be integers in [8, 84] px (at 168 px), got none');
    expect(layout({ minObjects: 1, maxObjects: 2, sizes: [100] })).toThrow('object sizes must be integers in [8, 84] px (at 168 px), got 100');
    expect(layout({ minObjects: 6, maxObjects: 6, sizes: [84] })).toThrow(/could not build a \w+ scene .* \(6 objects of 84 px: too many or too large objects\?\)/);
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

/** Records with too few or too many objects, an object of another size, or objects that overlap or leave the image. */
function outsideLayout(rs: ShapesRecord[], { minObjects, maxObjects, sizes }: Layout): ShapesRecord[] {
  return rs.filter(({ scene }) => {
    const n = scene.objects.length;
    const ok = (o: SceneObject, i: number) => sizes.includes(o.size) && fits({ ...scene, objects: scene.objects.filter((_, j) => j !== i) }, o);
    return n < minObjects || n > maxObjects || !scene.objects.every(ok);
  });
}

function bestAnswerPerText(rs: ShapesRecord[]): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const r of rs) {
    const c = counts.get(r.text) ?? new Map<string, number>();
    c.set(r.answer, (c.get(r.answer) ?? 0) + 1);
    counts.set(r.text, c);
  }
  return new Map([...counts].map(([text, c]) => [text, [...c].sort((a, b) => b[1] - a[1])[0][0]]));
}

/**
 * What a model names when it answers a relation question ("What shape is left of the red circle?",
 * docs/shapes.md 3h-3j): `adsc eval --predictions` output joined, by record id, with the scenes the
 * generator drew for that set (regenerated from its seed and layout), split by the number of
 * objects in the scene. Each answer is sorted into: right; the shape of the object the question
 * names (the reference: the model found it but not its neighbour); the shape of the third object
 * (the one outside the cone); anything else. Where two of those share a shape the answer counts
 * for the first that matches, in that order.
 *
 * A model that finds the reference but knows nothing of where things are can still answer every
 * two-object scene (the other object is the answer) and half of the three-object ones (two thirds
 * of the relation questions of a 1-3-object set have two objects: three are harder to place with
 * the cone's margins). Only the three-object rows show whether it reads "left".
 *
 *   npx tsx packages/shapes/scripts/relation-errors.ts PREDICTIONS.jsonl SEED COUNT [OBJECTS] [SIZES] [TYPES]
 *     (the set's `adsc data shapes` flags: OBJECTS e.g. 1-3, SIZES e.g. 42,56, TYPES e.g. left;
 *      defaults 1-3, 42,56 and every type; a question the regenerated set does not ask under that
 *      id stops the script, predictions.ts)
 */
import { joinedPredictions, predictionsAndSet } from './predictions.js';

const { file, records } = predictionsAndSet('relation-errors.ts');

const KINDS = ['right', 'reference', 'third', 'other'] as const;
const tally = new Map<string, Record<(typeof KINDS)[number], number>>();
for (const { p, r } of joinedPredictions(file, records, ['left', 'above'])) {
  // The generator places the reference first, the answer object second, the rest after (generate.ts).
  const [reference, , third] = r.scene.objects;
  const answer = p.prediction.trim().toLowerCase();
  const kind = p.correct ? 'right' : answer === reference.shape ? 'reference' : third && answer === third.shape ? 'third' : 'other';
  const key = `${p.type}, ${r.scene.objects.length} objects`;
  const t = tally.get(key) ?? { right: 0, reference: 0, third: 0, other: 0 };
  t[kind]++;
  tally.set(key, t);
}
console.log(`${'questions'.padEnd(18)} ${'n'.padStart(4)} ${KINDS.map((k) => k.padStart(10)).join('')}`);
for (const [key, t] of [...tally].sort(([a], [b]) => a.localeCompare(b))) {
  const n = KINDS.reduce((s, k) => s + t[k], 0);
  console.log(`${key.padEnd(18)} ${String(n).padStart(4)} ${KINDS.map((k) => `${t[k]} (${Math.round((100 * t[k]) / n)}%)`.padStart(10)).join('')}`);
}

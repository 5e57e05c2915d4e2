/**
 * Accuracy by the number of objects in the scene, per question type, from `adsc eval --predictions`
 * output joined with the set the generator makes from the same flags (predictions.ts): a model that
 * reads one object well and several badly shows it here, where the overall accuracy mixes the two
 * (docs/shapes.md, 3r). Patch-word sets (text-scenes.ts) made with the same flags ask the same
 * questions under the same ids, so they are read the same way.
 *
 *   npx tsx packages/shapes/scripts/by-objects.ts PREDICTIONS.jsonl SEED COUNT [OBJECTS] [SIZES] [TYPES]
 */
import { QUESTION_TYPES } from '../src/index.js';
import { joinedPredictions, predictionsAndSet } from './predictions.js';

const { file, layout, types, records } = predictionsAndSet('by-objects.ts');

const tally = new Map<string, { right: number; all: number }>(); // "objects type" -> questions
for (const { p, r } of joinedPredictions(file, records, QUESTION_TYPES)) {
  for (const key of [`${r.scene.objects.length} ${p.type}`, `${r.scene.objects.length} all`]) {
    const t = tally.get(key) ?? { right: 0, all: 0 };
    t.right += Number(p.correct);
    t.all++;
    tally.set(key, t);
  }
}
const asked = [...types, 'all'];
console.log(['objects', ...asked].join('\t'));
for (let n = layout.minObjects; n <= layout.maxObjects; n++) {
  console.log([n, ...asked.map((type) => {
    const t = tally.get(`${n} ${type}`);
    return t ? `${t.right}/${t.all}` : '-';
  })].join('\t'));
}

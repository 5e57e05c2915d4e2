/**
 * Does a model find the object a question names, or read whichever object comes first? For the
 * colour and shape questions of a multi-object set ("What color is the circle?", "What shape is the
 * red object?"), `adsc eval --predictions` output is joined by record id with the scenes the
 * generator drew (regenerated from the set's seed and layout), and each answer is sorted by where
 * the named object sits among the scene's objects in reading order (the row of the patch under its
 * centre, then x: the order its tokens reach the decoder) and by which object the answer describes.
 * Scenes where two objects share the asked attribute are left out (the answer cannot tell them apart).
 *
 * A model that reads the question's word matches the named object wherever it is; one that reads
 * the first object answers right only when the named object is the first (docs/shapes.md, 3l).
 *
 * Predictions of the training-only describe questions (src/describe.ts) are read the same way. By
 * colour ("What objects are there?", type describe) the first word names a colour, the second the
 * shape of the object of that colour; by shape ("What shape objects are there?", type
 * describe-shape) the first word names a shape, the second that object's colour. The second word is
 * sorted here (the named object being the first in that order), on scenes whose objects share
 * neither a colour nor a shape.
 *
 *   npx tsx packages/shapes/scripts/selection-errors.ts PREDICTIONS.jsonl SEED COUNT [OBJECTS] [SIZES] [TYPES]
 *
 * SEED, COUNT, OBJECTS, SIZES and TYPES (comma-separated) are the `adsc data shapes` flags the set
 * was made with; a question that the regenerated set does not ask under that id stops the script
 * (a set made with --types but read without it would be joined with other scenes; predictions.ts).
 */
import { readingOrder, type SceneObject } from '../src/index.js';
import { joinedPredictions, predictionsAndSet } from './predictions.js';

const { file, records } = predictionsAndSet('selection-errors.ts');
const patch = 14; // px at 168 px: the scene coordinates are at that size

/** Row label of a table line: question type, objects, where the named object is. */
const rows = new Map<string, { total: number; named: number; first: number; other: number }>();
/** Describe answers whose first word, the first colour (or shape) present, is right. */
const firstWords = { total: 0, right: 0 };
for (const { p, r } of joinedPredictions(file, records, ['color', 'shape', 'describe', 'describe-shape'])) {
  const described = p.type === 'describe' || p.type === 'describe-shape';
  const n = r.scene.objects.length;
  if (n < 2) continue;
  const order = readingOrder(r.scene, (patch * r.scene.imageSize) / 168);
  /** The attribute the answer (or a description's second word) names. */
  const attribute = (o: SceneObject) => (p.type === 'color' || p.type === 'describe-shape' ? o.color : o.shape);
  const values: string[] = order.map(attribute);
  if (new Set(values).size < n) continue;
  let [answer, prediction] = [p.answer, p.prediction];
  if (described) {
    if (new Set(order.map((o) => o.color)).size < n || new Set(order.map((o) => o.shape)).size < n) continue;
    [answer, prediction] = [p.answer.split(' ')[1], p.prediction.split(' ')[1] ?? ''];
    firstWords.total++;
    if (p.prediction.split(' ')[0] === p.answer.split(' ')[0]) firstWords.right++;
  }
  const at = values.indexOf(answer);
  const key = `${p.type.padEnd(14)} ${n} objects, named object ${at === 0 ? 'first' : 'later'}`;
  const row = rows.get(key) ?? { total: 0, named: 0, first: 0, other: 0 };
  row.total++;
  if (prediction === answer) row.named++;
  else if (prediction === values[0]) row.first++;
  else row.other++;
  rows.set(key, row);
}
const pct = (k: number, n: number) => `${k}/${n} (${((100 * k) / n).toFixed(0)} %)`;
console.log('question, scene, where the named object is   answer names: the named object | the first object | another');
for (const [key, r] of [...rows].sort()) console.log(`${key.padEnd(48)} ${pct(r.named, r.total).padEnd(14)} | ${pct(r.first, r.total).padEnd(14)} | ${pct(r.other, r.total)}`);
if (firstWords.total > 0) console.log(`describe: the first word (the first colour or shape in the scene) is right in ${pct(firstWords.right, firstWords.total)}`);

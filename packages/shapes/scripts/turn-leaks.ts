/**
 * How often a multi-turn training record gives away a "binding" question's answer before it is
 * asked (docs/shapes.md, section 3e). A binding question matches a shape word against the image:
 * "How many squares are there?" or "Is there a red square?". In a one-object scene the object's
 * shape is stated by any earlier turn that asks the colour of a shape ("What color is the square?"
 * is only asked about a shape that is there), answers a shape question, answers "yes" to an exists
 * question, or counts one object of a shape; after that turn the question can be answered from the
 * text alone, and the image is not needed.
 *
 *   npx tsx packages/shapes/scripts/turn-leaks.ts --seed S --count N --turns K [--sizes 42,56,70,84]
 *
 * Generates the set in memory exactly as `adsc data shapes --objects 1` does (no files written).
 */
import { parseArgs } from 'node:util';
import { generateShapes, isShape, recordTurns, type Turn } from '../src/index.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' }, count: { type: 'string' }, turns: { type: 'string', default: '6' }, sizes: { type: 'string', default: '42,56,70,84' },
  },
});
if (values.seed === undefined || values.count === undefined) {
  console.error('usage: turn-leaks.ts --seed S --count N [--turns K] [--sizes PX,PX]');
  process.exit(2);
}
const sizes = values.sizes.split(',').map(Number);
const records = generateShapes({
  seed: Number(values.seed), count: Number(values.count), turns: Number(values.turns),
  layout: { minObjects: 1, maxObjects: 1, sizes },
});

/** Does `turn` need the object's shape matched against a shape word of the question? */
const binds = (t: Turn) => t.question.type === 'exists' || (t.question.type === 'count' && isShape(t.question.of));
/** Does `turn`, with its answer, state the shape of a one-object scene's object? */
const states = (t: Turn) =>
  t.question.type === 'color' || t.question.type === 'shape' || (t.question.type === 'exists' && t.answer === 'yes') ||
  (t.question.type === 'count' && isShape(t.question.of) && t.answer === '1');

let binding = 0;
let given = 0;
let first = 0;
for (const r of records) {
  let known = false;
  recordTurns(r).forEach((t, i) => {
    if (binds(t)) {
      binding++;
      if (known) given++;
      if (i === 0) first++;
    }
    known ||= states(t);
  });
}
const pct = (n: number) => `${((100 * n) / binding).toFixed(1)} %`;
console.log(`${records.length} records of ${values.turns} turns: ${binding} binding questions, ${first} of them first turns (${pct(first)})`);
console.log(`the object's shape already stated by an earlier turn: ${given} (${pct(given)})`);

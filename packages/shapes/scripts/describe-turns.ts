/**
 * Adds a "describe the scene" turn (src/describe.ts) to every record of a Shapes VQA training set:
 * "What objects are there?" answered by every object's colour and shape, e.g. "red circle blue
 * square blue triangle" (`--by color`, the default), or "What shape objects are there?" answered
 * "circle red square blue triangle blue" (`--by shape`). A training-only auxiliary task
 * (docs/shapes.md, 3l, 3o): its words ask, object by object, which colour comes next among those in
 * the image and what shape the object of that colour is (by shape: what colour the object of that
 * shape is), the comparisons the multi-object decoders get wrong. It names no position, so it gives
 * no relation away; it does give away every other question about the scene, so train with
 * `adsc train --independent-turns`.
 *
 *   npx tsx packages/shapes/scripts/describe-turns.ts DIR --seed S --count N [--turns K] [--objects 1-3] [--sizes 42,56] [--by color|shape]
 *
 * DIR must hold the set `adsc data shapes` wrote with the same flags: the scenes are generated again
 * from the seed and checked against DIR/questions.json (ids and first questions), then
 * DIR/describe.json (by shape: DIR/describe-shape.json) is written: the same records, each with the
 * describe turn last.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DESCRIBE_QUESTIONS, describeScene, generateShapes, type LlavaRecord } from '../src/index.js';
import { describeOrderOrExit, layoutOrExit } from './layout-args.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seed: { type: 'string' }, count: { type: 'string' }, turns: { type: 'string', default: '1' }, objects: { type: 'string' }, sizes: { type: 'string' }, by: { type: 'string', default: 'color' } },
});
if (positionals.length !== 1 || values.seed === undefined || values.count === undefined) {
  console.error('usage: describe-turns.ts DIR --seed S --count N [--turns K] [--objects MIN-MAX] [--sizes PX,PX] [--by color|shape]');
  process.exit(2);
}
const dir = positionals[0];
const by = describeOrderOrExit(values.by!);
const question = DESCRIBE_QUESTIONS[by];
const out = join(dir, by === 'color' ? 'describe.json' : 'describe-shape.json');
const layout = layoutOrExit(values.objects, values.sizes);
const records = generateShapes({ seed: Number(values.seed), count: Number(values.count), turns: Number(values.turns), layout });
const written = JSON.parse(readFileSync(join(dir, 'questions.json'), 'utf8')) as LlavaRecord[];
if (written.length !== records.length) {
  console.error(`error: ${dir}/questions.json has ${written.length} records; these flags make ${records.length}`);
  process.exit(2);
}
const described = written.map((w, i) => {
  const r = records[i];
  if (w.id !== r.id || w.conversations[0].value !== `<image>\n${r.text}`) {
    console.error(`error: ${dir}/questions.json, record ${i + 1} (id ${w.id}) is not the one these flags make (${r.id}: ${r.text})`);
    process.exit(2);
  }
  return { ...w, conversations: [...w.conversations, { from: 'human', value: question }, { from: 'gpt', value: describeScene(r.scene, by) }] };
});
writeFileSync(out, `${JSON.stringify(described, null, 1)}\n`);
const objects = records.reduce((n, r) => n + r.scene.objects.length, 0);
console.log(`wrote ${out}: ${described.length} records, each with "${question}" last (${(objects / records.length).toFixed(2)} objects per scene)`);

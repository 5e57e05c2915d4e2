/**
 * How much of a Shapes scene a uniform token drop can see: for ADSC's kept span indices
 * floor(j * 144 / k), the share of objects whose bounding box touches a kept 14 px patch, and the
 * share of scenes where every object does (docs/shapes.md, "Why token reduction matters here").
 *
 *   npx tsx packages/shapes/scripts/patch-coverage.ts [--seed S] [--count N]     (default seed 2, 2000)
 */
import { parseArgs } from 'node:util';
import { uniformIndices } from '@adsc/model';
import { BASE_IMAGE_SIZE, generateShapes } from '../src/index.js';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '2' }, count: { type: 'string', default: '2000' } } });
const records = generateShapes({ seed: Number(values.seed), count: Number(values.count) });
const PATCH = 14;
const GRID = BASE_IMAGE_SIZE / PATCH;
const TOKENS = GRID * GRID;

for (const keep of [72, 36, 16]) {
  const kept = new Set(uniformIndices(TOKENS, keep));
  let objects = 0;
  let seen = 0;
  let wholeScenes = 0;
  for (const { scene } of records) {
    let all = true;
    for (const o of scene.objects) {
      const span = (c: number) => [Math.floor((c - o.size / 2) / PATCH), Math.floor((c + o.size / 2 - 1e-9) / PATCH)];
      const [c0, c1] = span(o.x);
      const [r0, r1] = span(o.y);
      let touched = false;
      for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) touched ||= kept.has(r * GRID + c);
      objects++;
      if (touched) seen++;
      else all = false;
    }
    if (all) wholeScenes++;
  }
  console.log(`keep ${keep} of ${TOKENS}: ${((100 * seen) / objects).toFixed(1)} % of objects touch a kept patch, every object in ${((100 * wholeScenes) / records.length).toFixed(1)} % of scenes`);
}

/**
 * Splits `adsc eval --predictions` output on Shapes count and exists questions by what they need
 * (docs/shapes.md, section 3e): a count of a colour or of a shape, and exists questions by their
 * right answer (a "no" about a one-object scene is either the wrong colour or the wrong shape).
 *
 *   npx tsx packages/shapes/scripts/binding-errors.ts PREDICTIONS.jsonl [...]
 */
import { readFileSync } from 'node:fs';
import { SHAPES } from '../src/index.js';

interface Prediction { type: string; question: string; answer: string; correct: boolean }

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: binding-errors.ts PREDICTIONS.jsonl [...]');
  process.exit(2);
}
for (const file of files) {
  const tally = new Map<string, { right: number; all: number }>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const p = JSON.parse(line) as Prediction;
    let kind: string;
    if (p.type === 'count') kind = SHAPES.some((s) => p.question.includes(s)) ? 'count of a shape' : 'count of a colour';
    else if (p.type === 'exists') kind = `exists, answer ${p.answer}`;
    else continue;
    const t = tally.get(kind) ?? { right: 0, all: 0 };
    t.right += Number(p.correct);
    t.all++;
    tally.set(kind, t);
  }
  const cells = [...tally].sort(([a], [b]) => a.localeCompare(b)).map(([k, t]) => `${k} ${t.right}/${t.all} (${((100 * t.right) / t.all).toFixed(1)} %)`);
  console.log(`${file}: ${cells.join(', ')}`);
}

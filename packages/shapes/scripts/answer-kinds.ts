/**
 * Does a model answer each question with the right kind of word? `adsc eval --predictions` output
 * is counted by question type and by the kind of word each prediction is: a colour, a shape, a
 * number or yes/no (the answer sets of questions.ts), nothing, several words (a describe answer's
 * "yellow square") or another single word. A model that reads the image but not the question
 * ("How many blue objects are there?" answered "no") shows up here before it shows up in any
 * selection table (docs/shapes.md, 3n).
 *
 *   npx tsx packages/shapes/scripts/answer-kinds.ts PREDICTIONS.jsonl
 */
import { readFileSync } from 'node:fs';
import { ANSWERS } from '../src/index.js';

interface Prediction { id: string; type: string; prediction: string }

const KINDS = { colour: ANSWERS.color, shape: ANSWERS.shape, number: ANSWERS.count, 'yes/no': ANSWERS.exists } as const;
type Kind = keyof typeof KINDS | 'nothing' | 'words' | 'other';
const kindOf = (answer: string): Kind => {
  if (answer === '') return 'nothing';
  if (/\s/.test(answer)) return 'words';
  return (Object.keys(KINDS) as (keyof typeof KINDS)[]).find((k) => KINDS[k].includes(answer)) ?? 'other';
};

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: answer-kinds.ts PREDICTIONS.jsonl');
  process.exit(2);
}
const counts = new Map<string, Map<Kind, number>>();
for (const [i, line] of readFileSync(file, 'utf8').split('\n').entries()) {
  if (line.trim() === '') continue;
  const p = JSON.parse(line) as Prediction;
  if (typeof p.type !== 'string' || typeof p.prediction !== 'string') {
    console.error(`error: ${file}: line ${i + 1} has no "type" and "prediction" strings`);
    process.exit(2);
  }
  const row = counts.get(p.type) ?? new Map<Kind, number>();
  const kind = kindOf(p.prediction.trim().toLowerCase());
  row.set(kind, (row.get(kind) ?? 0) + 1);
  counts.set(p.type, row);
}
const columns: Kind[] = [...(Object.keys(KINDS) as Kind[]), 'nothing', 'words', 'other'];
console.log(`${'type'.padEnd(10)}${columns.map((c) => c.padStart(8)).join('')}   (answers of each kind)`);
for (const [type, row] of [...counts].sort()) console.log(`${type.padEnd(10)}${columns.map((c) => String(row.get(c) ?? 0).padStart(8)).join('')}`);

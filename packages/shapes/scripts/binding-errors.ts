/**
 * Splits `adsc eval --predictions` output on Shapes count and exists questions by what they need
 * (docs/shapes.md, section 3e): a count of a colour or of a shape, and exists questions by their
 * right answer (a "no" about a one-object scene is either the wrong colour or the wrong shape).
 * Then the count questions' answers against their right ones (rows: right count; columns: what
 * was answered, "other" for anything that is not a count), which tells a decoder that counts from
 * one that answers each question's most common count.
 *
 *   npx tsx packages/shapes/scripts/binding-errors.ts PREDICTIONS.jsonl [...]
 */
import { readFileSync } from 'node:fs';
import { SHAPES } from '../src/index.js';

interface Prediction { type: string; question: string; answer: string; prediction: string; correct: boolean }

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: binding-errors.ts PREDICTIONS.jsonl [...]');
  process.exit(2);
}
for (const file of files) {
  const tally = new Map<string, { right: number; all: number }>();
  const counts = new Map<string, Map<string, number>>(); // right count -> answered -> questions
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const p = JSON.parse(line) as Prediction;
    if (p.type === 'count') {
      const answered = /^[0-9]$/.test(p.prediction) ? p.prediction : 'other';
      const row = counts.get(p.answer) ?? new Map<string, number>();
      row.set(answered, (row.get(answered) ?? 0) + 1);
      counts.set(p.answer, row);
    }
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
  if (counts.size === 0) continue;
  const columns = [...new Set([...counts.values()].flatMap((row) => [...row.keys()]))].sort();
  console.log(['count: right \\ answered', ...columns].join('\t'));
  for (const right of [...counts.keys()].sort()) console.log([right, ...columns.map((c) => counts.get(right)!.get(c) ?? 0)].join('\t'));
}

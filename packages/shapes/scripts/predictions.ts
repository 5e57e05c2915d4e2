/**
 * `adsc eval --predictions` output joined, by record id, with the set the generator makes from the
 * same flags (selection-errors.ts, relation-errors.ts). A set made with --types or another layout
 * but read without them would pair answers with other scenes, so a record that is missing, or that
 * asks another question or expects another answer under that id, stops the script with one line
 * (exit code 2). Training-only questions (the descriptions of src/describe.ts) are not among the
 * task's QUESTION_TYPES and not in the generated set's text; their records are joined by id alone.
 */
import { readFileSync } from 'node:fs';
import { QUESTION_TYPES, generateShapes, type Layout, type QuestionType, type ShapesRecord } from '../src/index.js';
import { layoutOrExit, typesOrExit } from './layout-args.js';

export interface Prediction { id: string; type: string; question: string; answer: string; prediction: string; correct: boolean }

/**
 * The command line the readers of predictions share, `SCRIPT PREDICTIONS.jsonl SEED COUNT [OBJECTS]
 * [SIZES] [TYPES]`: the predictions file, the layout and types, and the set those flags make, by id.
 * A missing argument prints the usage line and exits with code 2.
 */
export function predictionsAndSet(script: string): { file: string; layout: Layout; types: readonly QuestionType[]; records: Map<string, ShapesRecord> } {
  const [file, seedText, countText, objects = '1-3', sizes = '42,56', typesText] = process.argv.slice(2);
  if (!file || !seedText || !countText) {
    console.error(`usage: ${script} PREDICTIONS.jsonl SEED COUNT [OBJECTS] [SIZES] [TYPES]`);
    process.exit(2);
  }
  const layout = layoutOrExit(objects, sizes);
  const types = typesOrExit(typesText);
  const records = new Map(generateShapes({ seed: Number(seedText), count: Number(countText), layout, types }).map((r) => [r.id, r]));
  return { file, layout, types, records };
}

/** Every prediction of FILE whose type is in TYPES, with its record in RECORDS. */
export function joinedPredictions(file: string, records: ReadonlyMap<string, ShapesRecord>, types: readonly string[]): { p: Prediction; r: ShapesRecord }[] {
  const joined: { p: Prediction; r: ShapesRecord }[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const p = JSON.parse(line) as Prediction;
    if (!types.includes(p.type)) continue;
    const r = records.get(p.id);
    if (!r) stop(`${file}: record ${p.id} is not in the set these flags make`);
    if ((QUESTION_TYPES as readonly string[]).includes(p.type) && (p.question !== r.text || p.answer !== r.answer)) {
      stop(`${file}: record ${p.id} asks ${JSON.stringify(p.question)} (answer ${JSON.stringify(p.answer)}), but the set these flags make asks ${JSON.stringify(r.text)} (${JSON.stringify(r.answer)}) there: give the flags the set was made with`);
    }
    joined.push({ p, r });
  }
  return joined;
}

function stop(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

/**
 * Where in the decoder does the object's shape reach the answer? For the one-object scenes of a
 * shape set (`adsc data shapes --types shape --objects 1 ...`), asks one fixed question about each
 * image (or, with QUESTION = own, the record's own question) and fits a linear probe (ridge, as
 * linear-probe.ts) for the object's shape to the hidden state of the prompt's last token, the one
 * whose logits give the answer, after every decoder layer: fitted on the first two thirds, scored
 * on the rest (chance 33 %). It also prints what the model answers (docs/shapes.md, section 3e).
 *
 *   npx tsx packages/shapes/scripts/layer-probe.ts MODEL_DIR DATA_DIR "QUESTION" [--count N]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { noGrad } from '@adsc/core';
import { Llava, LlavaTokenizer, NO_SCHEDULE, formatPrompt, readImage, type Schedule, type Sequence } from '@adsc/model';
import { probe } from './ridge-probe.js';

const { values, positionals } = parseArgs({ options: { count: { type: 'string', default: '600' } }, allowPositionals: true });
const [dir, data, question] = positionals;
if (!dir || !data || !question) {
  console.error('usage: layer-probe.ts MODEL_DIR DATA_DIR "QUESTION" | own [--count N]');
  process.exit(2);
}
const model = Llava.load(dir);
const tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex);
const records = (JSON.parse(readFileSync(join(data, 'questions.json'), 'utf8')) as { image: string; question?: string; conversations: { value: string }[] }[]).slice(0, Number(values.count));
const labels = records.map((r) => r.conversations[1].value);
const classes = [...new Set(labels)].sort();
const layers = model.config.text.numLayers;
const rows: number[][][] = Array.from({ length: layers + 1 }, () => []);
const answers: string[] = [];
for (const r of records) {
  const q = question === 'own' ? r.conversations[0].value.replace('<image>\n', '') : question;
  const ids = tokenizer.encode(formatPrompt('llava-hf', q, true));
  noGrad(() => {
    const prompt = model.embedPrompt(ids, model.encodeImage(model.pixels(readImage(join(data, r.image)))));
    const lastRow = (seq: Sequence) => {
      const [t, d] = seq.hidden.shape;
      return Array.from(seq.hidden.toFloat32Array().subarray((t - 1) * d, t * d));
    };
    // The unreduced schedule, with a look at each layer's input on the way.
    const spy: Schedule = { ...NO_SCHEDULE, beforeLayer: (l, seq) => void rows[l].push(lastRow(seq)) };
    const { seq } = model.runDecoder(prompt, { schedule: spy });
    rows[layers].push(lastRow(seq));
    const logits = model.decoder.logits(seq.hidden.narrow(0, seq.hidden.shape[0] - 1, 1)).toFloat32Array();
    answers.push(tokenizer.decode([logits.indexOf(Math.max(...logits))]));
  });
}
const split = Math.floor((records.length * 2) / 3);
console.log(`${question}: answers ${JSON.stringify(Object.fromEntries([...new Set(answers)].map((a) => [a, answers.filter((x) => x === a).length])))}`);
for (let l = 0; l <= layers; l++) {
  const where = l === 0 ? 'the embedding' : `layer ${l - 1}`;
  console.log(`after ${where}: probe for the shape ${(100 * probe(rows[l], labels, classes, split, 1)).toFixed(1)} %`);
}

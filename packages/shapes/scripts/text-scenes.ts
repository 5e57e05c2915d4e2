/**
 * Shapes VQA with the scene written out instead of drawn: text-only records for pretraining the
 * decoder, the way an LLM is pretrained on text before LLaVA ever shows it an image.
 *
 * The fresh shapes-llava decoders learn one-object questions but never learn to look up the object a
 * question names among several (docs/shapes.md, 3l-3p): on two objects they answer about the first,
 * and exists and count stay at chance even when trained alone. Those are two-step lookups (gather
 * the question's words at the last position, then match them against the context), the circuit a
 * pretrained LLM brings to LLaVA and a decoder trained from scratch on images must find at the same
 * time as it learns to read the projector's tokens. Here it can be learnt on its own, cheaply: each
 * record's context is its scene as text (`sceneText`: every object as "colour shape" in reading
 * order, the order its image tokens reach the decoder), followed by the question:
 *
 *   USER: blue square red circle How many circles are there? ASSISTANT: 1</s>
 *
 *   npx tsx packages/shapes/scripts/text-scenes.ts OUT.json --seed S --count N [--objects 1-3] [--sizes 42,56] [--types color,shape,count,exists] [--patches [--centre-word W]] [--turns K]
 *
 * With `--patches` the scene is written the way the image presents it instead: the human turn is
 * the image dataset's (`<image>\n{question}`) and a `"patch_words"` field holds, per vision patch in
 * row-major order, the words of the object that owns it (patchOwners: "red circle") or "" for the
 * background; `"centres"` lists the patches under the objects' centres (centrePatches), one per
 * object, and `--centre-word W` adds W to those patches' words ("red circle object"), a flag a
 * reader can count objects by where their patches number 4 to 25. `adsc train` and `adsc eval`
 * put the sum of each patch's words' embeddings where the image tokens go (Llava.embedPatchWords):
 * an oracle projector whose tokens say exactly what each patch shows, in the image's own layout, so
 * that what a decoder learns there is the image lookup itself (docs/shapes.md, 3r).
 *
 * The scenes and questions are generateShapes' (balanced answers, distractors that defeat
 * shortcuts); the records have no "image", which `adsc train` accepts. `--turns K` asks K - 1
 * follow-up questions after the first (follow-ups.ts), as more human / gpt turns, the way
 * `adsc data shapes --turns K` does: K answers for one pass over the scene's tokens. Relation questions are left
 * out by default: the text does not say where the objects are.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MAX_TURNS, centrePatches, generateShapes, patchOwners, recordTurns, sceneText } from '../src/index.js';

/** The shapes-llava tower's patch at the task's 168 px images: 12 x 12 vision tokens. */
const PATCH = 14;
import { layoutOrExit, typesOrExit } from './layout-args.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string' },
    count: { type: 'string' },
    objects: { type: 'string' },
    sizes: { type: 'string' },
    types: { type: 'string', default: 'color,shape,count,exists' },
    patches: { type: 'boolean', default: false },
    'centre-word': { type: 'string' },
    turns: { type: 'string', default: '1' },
  },
});
if (positionals.length !== 1 || values.seed === undefined || values.count === undefined) {
  console.error('usage: text-scenes.ts OUT.json --seed S --count N [--objects MIN-MAX] [--sizes PX,PX] [--types T,T] [--patches [--centre-word W]] [--turns K]');
  process.exit(2);
}
const out = positionals[0];
if (existsSync(out)) {
  console.error(`error: ${out} exists; choose a new file`);
  process.exit(2);
}
const layout = layoutOrExit(values.objects, values.sizes);
const types = typesOrExit(values.types);
const turns = Number(values.turns);
if (!Number.isInteger(turns) || turns < 1 || turns > MAX_TURNS) {
  console.error(`error: --turns must be an integer in [1, ${MAX_TURNS}], got ${JSON.stringify(values.turns)}`);
  process.exit(2);
}

let records;
try {
  records = generateShapes({ seed: Number(values.seed), count: Number(values.count), layout, types, turns });
} catch (e) {
  if (!(e instanceof RangeError)) throw e;
  console.error(`error: ${e.message}`);
  process.exit(2);
}
const written = records.map((r) => {
  // The scene (its text, or the image's place) goes before the first question only.
  const conversations = recordTurns(r).flatMap((t, i) => [
    { from: 'human', value: i > 0 ? t.text : values.patches ? `<image>\n${t.text}` : `${sceneText(r.scene)} ${t.text}` },
    { from: 'gpt', value: t.answer },
  ]);
  const record = { id: r.id, type: r.type, conversations };
  if (!values.patches) return record;
  const words = (i: number) => (i < 0 ? '' : `${r.scene.objects[i].color} ${r.scene.objects[i].shape}`);
  const centres = centrePatches(r.scene, PATCH).flatMap((o, t) => (o < 0 ? [] : [t]));
  const flag = (w: string, t: number) => (values['centre-word'] !== undefined && centres.includes(t) && w !== '' ? `${w} ${values['centre-word']}` : w);
  return { ...record, patch_words: patchOwners(r.scene, PATCH).map(words).map(flag), centres };
});
writeFileSync(out, `${JSON.stringify(written, null, 1)}\n`);
console.log(`wrote ${out}: ${written.length} ${values.patches ? 'patch-word' : 'text-only'} records (${types.join(', ')}), e.g. "${written[0].conversations[0].value}" -> ${written[0].conversations[1].value}`);

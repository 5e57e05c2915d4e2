/**
 * A Shapes VQA dataset: N questions, one scene each, as LLaVA conversation JSON and PNGs.
 *
 *   DIR/questions.json   [{"id", "image": "images/000000.png", "type",
 *                          "conversations": [{"from": "human", "value": "<image>\n{question}"},
 *                                            {"from": "gpt", "value": "{answer}"}]}, ...]
 *   DIR/images/*.png
 *
 * With `turns` K > 1 each record also asks K - 1 follow-up questions about its scene (follow-ups.ts),
 * as more human / gpt turns: training data that teaches K answers per image. The follow-ups come
 * from their own random stream, so the first turns, scenes and images are those of `turns` 1.
 *
 * Everything follows from the seed (one mulberry32 stream). Question types are dealt like cards
 * from a shuffled deck, and so are each type's answers, so every type and every answer of a type
 * comes up equally often (exactly, whenever N is a multiple of the deck sizes).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { mulberry32 } from '@adsc/core';
import { followUps, type Turn } from './follow-ups.js';
import { describeLayout, generateExample, possible } from './generate.js';
import { encodePng } from './png.js';
import { ANSWERS, QUESTION_TYPES, questionText, type Question, type QuestionType } from './questions.js';
import { renderScene } from './render.js';
import { BASE_IMAGE_SIZE, DEFAULT_LAYOUT, shuffle, type Layout, type Rng, type Scene } from './scene.js';

export interface ShapesOptions {
  seed: number;
  count: number;
  /** Width and height of the images; default 168 (12 x 12 patches of 14 px). */
  imageSize?: number;
  /** Questions per record: the balanced first one and `turns - 1` follow-ups; default 1. */
  turns?: number;
  /**
   * Objects per scene and their sizes; default DEFAULT_LAYOUT (the task). Easier layouts (fewer,
   * bigger objects) are for the first stages of training. Question types and answers a layout
   * cannot have (a count above its object count, relations with one object) are left out.
   */
  layout?: Layout;
  /** The question types to ask, first turns and follow-ups alike; default all of QUESTION_TYPES. */
  types?: readonly QuestionType[];
}

export interface ShapesRecord {
  id: string;
  /** Path of the PNG relative to the dataset directory. */
  image: string;
  type: QuestionType;
  question: Question;
  text: string;
  answer: string;
  scene: Scene;
  /** The follow-up turns (none unless `turns` > 1). */
  followUps: Turn[];
}

/** One record of LLaVA's conversation format, plus the question type. */
export interface LlavaRecord {
  id: string;
  image: string;
  type: string;
  /** human, gpt, human, gpt, ...: only the first human turn holds `<image>`. */
  conversations: { from: 'human' | 'gpt'; value: string }[];
}

export const MIN_IMAGE_SIZE = 84;
export const MAX_IMAGE_SIZE = 2048;
export const MAX_TURNS = 32;
export const MAX_OBJECTS = 12;
/** Object sizes at 168 px: from under a patch to half the image. */
export const MIN_OBJECT_SIZE = 8;
export const MAX_OBJECT_SIZE = 84;

export function generateShapes({ seed, count, imageSize = BASE_IMAGE_SIZE, turns = 1, layout = DEFAULT_LAYOUT, types = QUESTION_TYPES }: ShapesOptions): ShapesRecord[] {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be an integer >= 1, got ${count}`);
  if (!Number.isInteger(imageSize) || imageSize < MIN_IMAGE_SIZE || imageSize > MAX_IMAGE_SIZE) {
    throw new RangeError(`image size must be an integer in [${MIN_IMAGE_SIZE}, ${MAX_IMAGE_SIZE}], got ${imageSize}`);
  }
  if (!Number.isInteger(turns) || turns < 1 || turns > MAX_TURNS) throw new RangeError(`turns must be an integer in [1, ${MAX_TURNS}], got ${turns}`);
  checkLayout(layout);
  const unknown = types.find((t) => !QUESTION_TYPES.includes(t));
  if (unknown !== undefined || types.length === 0) throw new RangeError(`types must be some of ${QUESTION_TYPES.join(', ')}, got ${types.join(',') || 'none'}`);
  const rng = mulberry32(seed);
  const followRng = mulberry32((seed ^ 0x5bd1e995) >>> 0);
  const asked = QUESTION_TYPES.filter((t) => types.includes(t) && ANSWERS[t].some((a) => possible(layout, t, a)));
  if (asked.length === 0) throw new RangeError(`no scene of ${describeLayout(layout)} can have a ${types.join(' or ')} question`);
  const nextType = deck(rng, asked);
  const nextAnswer = Object.fromEntries(QUESTION_TYPES.map((t) => [t, deck(rng, ANSWERS[t].filter((a) => possible(layout, t, a)))])) as Record<QuestionType, () => string>;
  const digits = String(count - 1).length;
  return Array.from({ length: count }, (_, i) => {
    const type = nextType();
    const example = generateExample(rng, type, nextAnswer[type](), imageSize, layout);
    const name = String(i).padStart(Math.max(6, digits), '0');
    const more = turns > 1 ? followUps(followRng, example.scene, example.question, turns - 1, asked) : [];
    return { id: `shapes-${seed}-${name}`, image: `images/${name}.png`, type, text: questionText(example.question), ...example, followUps: more };
  });
}

/** Every question of a record in the order asked: the first, then its follow-ups. */
export function recordTurns(r: ShapesRecord): Turn[] {
  return [{ type: r.type, question: r.question, text: r.text, answer: r.answer }, ...r.followUps];
}

export function llavaRecord(r: ShapesRecord): LlavaRecord {
  return {
    id: r.id,
    image: r.image,
    type: r.type,
    // The image token goes before the first question only.
    conversations: recordTurns(r).flatMap((t, i) => [
      { from: 'human' as const, value: i === 0 ? `<image>\n${t.text}` : t.text },
      { from: 'gpt' as const, value: t.answer },
    ]),
  };
}

export class DatasetExistsError extends Error {
  readonly code = 'DatasetExists';
}

/**
 * Generates the dataset and writes it to `out` all at once: into a temporary sibling directory
 * first, renamed to `out` at the end, so `out` either does not exist or holds a whole dataset.
 * Refuses an `out` that exists and is not empty.
 */
export function writeShapes(out: string, options: ShapesOptions): ShapesRecord[] {
  if (existsSync(out) && readdirSync(out).length > 0) throw new DatasetExistsError(`${out}: exists and is not empty (choose a new --out or remove it)`);
  const records = generateShapes(options);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(join(tmp, 'images'), { recursive: true });
    for (const r of records) writeFileSync(join(tmp, r.image), encodePng(renderScene(r.scene)));
    writeFileSync(join(tmp, 'questions.json'), `${JSON.stringify(records.map(llavaRecord), null, 1)}\n`);
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return records;
}

function checkLayout({ minObjects, maxObjects, sizes }: Layout): void {
  if (!Number.isInteger(minObjects) || !Number.isInteger(maxObjects) || minObjects < 1 || maxObjects < minObjects || maxObjects > MAX_OBJECTS) {
    throw new RangeError(`objects must be MIN-MAX with 1 <= MIN <= MAX <= ${MAX_OBJECTS}, got ${minObjects}-${maxObjects}`);
  }
  if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < MIN_OBJECT_SIZE || s > MAX_OBJECT_SIZE)) {
    throw new RangeError(`object sizes must be integers in [${MIN_OBJECT_SIZE}, ${MAX_OBJECT_SIZE}] px (at 168 px), got ${sizes.join(',') || 'none'}`);
  }
}

/** Deals `items` in a fresh random order each round. */
function deck<T>(rng: Rng, items: readonly T[]): () => T {
  let pile: T[] = [];
  return () => {
    if (pile.length === 0) pile = shuffle(rng, [...items]);
    return pile.pop()!;
  };
}

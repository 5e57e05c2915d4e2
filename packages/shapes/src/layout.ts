/**
 * A scene layout from the strings `adsc data shapes` and the training scripts take: `--objects`
 * MIN-MAX or N objects per scene, `--sizes` a comma list of object sizes in px (at 168 px). Each
 * defaults to the task's (DEFAULT_LAYOUT). And the question types, `--types`, a comma list
 * (default every type). Bad input throws a LayoutError naming the flag.
 */
import { MAX_OBJECTS, MAX_OBJECT_SIZE, MIN_OBJECT_SIZE } from './dataset.js';
import { QUESTION_TYPES, type QuestionType } from './questions.js';
import { DEFAULT_LAYOUT, type Layout } from './scene.js';

export class LayoutError extends Error {
  readonly code = 'Layout';
}

export function parseLayout(objects?: string, sizes?: string): Layout {
  let { minObjects, maxObjects } = DEFAULT_LAYOUT;
  if (objects !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(objects) ?? /^(\d+)$/.exec(objects);
    if (!m) throw new LayoutError(`--objects must be MIN-MAX or N, got ${JSON.stringify(objects)}`);
    [minObjects, maxObjects] = [m[1], m[2] ?? m[1]].map((n) => integer('--objects', n, 1, MAX_OBJECTS));
    if (minObjects > maxObjects) throw new LayoutError(`--objects MIN-MAX needs MIN <= MAX, got ${JSON.stringify(objects)}`);
  }
  const list = sizes === undefined ? DEFAULT_LAYOUT.sizes : sizes.split(',').map((s) => integer('--sizes', s, MIN_OBJECT_SIZE, MAX_OBJECT_SIZE));
  return { minObjects, maxObjects, sizes: list };
}

export function parseTypes(types?: string): readonly QuestionType[] {
  if (types === undefined) return QUESTION_TYPES;
  return types.split(',').map((t) => {
    if (!(QUESTION_TYPES as readonly string[]).includes(t)) throw new LayoutError(`--types must be some of ${QUESTION_TYPES.join(',')}, got ${JSON.stringify(t)}`);
    return t as QuestionType;
  });
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw new LayoutError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}

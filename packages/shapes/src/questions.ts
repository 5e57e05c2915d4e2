/**
 * The question types, their wording, and the oracle that answers a question from a scene.
 *
 * | type     | question                                   | answers            | chance |
 * | -------- | ------------------------------------------ | ------------------ | ------ |
 * | color    | What color is the circle?                  | the 6 colours      | 1/6    |
 * | shape    | What shape is the red object?              | the 3 shapes       | 1/3    |
 * | count    | How many red objects are there? / circles  | 0 .. 5             | 1/6    |
 * | exists   | Is there a red circle?                     | yes, no            | 1/2    |
 * | left     | What shape is left of the red circle?      | the 3 shapes       | 1/3    |
 * | above    | What shape is above the red circle?        | the 3 shapes       | 1/3    |
 *
 * "The circle" and "the red object" are only asked when exactly one such object exists. "Left of"
 * R means inside the 90-degree cone that opens to R's left (the other object's centre is further
 * left than it is up or down: dx > |dy|); "above" is the same cone opening upwards. A relation
 * question is only asked when exactly one object is in the cone, clearly (by MARGIN px), and every
 * other object is clearly outside it. `answer` returns undefined for any question that is not
 * well posed on the scene.
 */
import { COLOR_NAMES, SHAPES, isShape, scaled, type Color, type Scene, type SceneObject, type Shape } from './scene.js';

export const QUESTION_TYPES = ['color', 'shape', 'count', 'exists', 'left', 'above'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const MAX_COUNT = 5;

/** Every answer each type can have; the generator draws them evenly. */
export const ANSWERS: Record<QuestionType, readonly string[]> = {
  color: COLOR_NAMES,
  shape: SHAPES,
  count: Array.from({ length: MAX_COUNT + 1 }, (_, i) => String(i)),
  exists: ['yes', 'no'],
  left: SHAPES,
  above: SHAPES,
};

export type Question =
  | { type: 'color'; shape: Shape }
  | { type: 'shape'; color: Color }
  | { type: 'count'; of: Color | Shape }
  | { type: 'exists' | 'left' | 'above'; color: Color; shape: Shape };

/** Clearance, at 168 px, between a relation's answer (or any other object) and the cone's edge. */
export const RELATION_MARGIN = 4;

export function questionText(q: Question): string {
  switch (q.type) {
    case 'color':
      return `What color is the ${q.shape}?`;
    case 'shape':
      return `What shape is the ${q.color} object?`;
    case 'count':
      return isShape(q.of) ? `How many ${q.of}s are there?` : `How many ${q.of} objects are there?`;
    case 'exists':
      return `Is there a ${q.color} ${q.shape}?`;
    case 'left':
    case 'above':
      return `What shape is ${q.type === 'left' ? 'left of' : 'above'} the ${q.color} ${q.shape}?`;
  }
}

/** The one-word answer to `q` on `scene`, or undefined when the question is not well posed there. */
export function answer(scene: Scene, q: Question): string | undefined {
  const objects = scene.objects;
  switch (q.type) {
    case 'color': {
      const found = objects.filter((o) => o.shape === q.shape);
      return found.length === 1 ? found[0].color : undefined;
    }
    case 'shape': {
      const found = objects.filter((o) => o.color === q.color);
      return found.length === 1 ? found[0].shape : undefined;
    }
    case 'count':
      return String(objects.filter((o) => o.shape === q.of || o.color === q.of).length);
    case 'exists':
      return objects.some((o) => o.color === q.color && o.shape === q.shape) ? 'yes' : 'no';
    case 'left':
    case 'above': {
      const direction = q.type;
      const refs = objects.filter((o) => o.color === q.color && o.shape === q.shape);
      if (refs.length !== 1) return undefined;
      const sides = objects.filter((o) => o !== refs[0]).map((o) => ({ o, side: side(direction, refs[0], o, scene.imageSize) }));
      const inCone = sides.filter((s) => s.side === 'in');
      if (inCone.length !== 1 || sides.some((s) => s.side === 'unclear')) return undefined;
      return inCone[0].o.shape;
    }
  }
}

/**
 * Where `o` lies against the cone that opens from `ref` to the left (or upwards): 'in' or 'out'
 * by at least the margin, else 'unclear'.
 */
export function side(direction: 'left' | 'above', ref: SceneObject, o: SceneObject, imageSize: number): 'in' | 'out' | 'unclear' {
  const along = direction === 'left' ? ref.x - o.x : ref.y - o.y; // > 0: towards the cone
  const across = Math.abs(direction === 'left' ? ref.y - o.y : ref.x - o.x);
  const margin = scaled(RELATION_MARGIN, imageSize);
  if (along - across >= margin) return 'in';
  if (across - along >= margin) return 'out';
  return 'unclear';
}

/** Every question the generator can ask (each type with each of its parameters). */
export function allQuestions(): Question[] {
  const pairs = COLOR_NAMES.flatMap((color) => SHAPES.map((shape) => ({ color, shape })));
  return [
    ...SHAPES.map((shape): Question => ({ type: 'color', shape })),
    ...COLOR_NAMES.map((color): Question => ({ type: 'shape', color })),
    ...[...COLOR_NAMES, ...SHAPES].map((of): Question => ({ type: 'count', of })),
    ...(['exists', 'left', 'above'] as const).flatMap((type) => pairs.map((p): Question => ({ type, ...p }))),
  ];
}

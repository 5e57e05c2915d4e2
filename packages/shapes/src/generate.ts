/**
 * Builds a scene and a question for a chosen answer.
 *
 * The answer is drawn first (evenly, by the caller), then the question's parameters, then a scene
 * that makes that answer true. Parameters are drawn independently of the answer, so the question
 * text says nothing about its answer: a model without the image can do no better than the most
 * frequent answer of each type. Distractors are chosen to make shortcuts fail: the other objects of
 * a "What color is the circle?" scene may have the answer's colour, an "Is there a red circle?"
 * scene is full of red things and circles, and so on. Every result is checked against the
 * independent oracle `answer` in questions.ts.
 */
import { ANSWERS, answer, side, type Question, type QuestionType } from './questions.js';
import {
  COLOR_NAMES, DEFAULT_LAYOUT, SHAPES, pick, place, randomInt,
  type Color, type Layout, type Rng, type Scene, type SceneObject, type Shape,
} from './scene.js';

export interface Example {
  scene: Scene;
  question: Question;
  answer: string;
}

type Attributes = Pick<SceneObject, 'shape' | 'color'>;

/** How many fresh attempts a scene gets before generation gives up (never reached in practice). */
const ATTEMPTS = 1000;

export function generateExample(rng: Rng, type: QuestionType, wanted: string, imageSize: number, layout: Layout = DEFAULT_LAYOUT): Example {
  if (!ANSWERS[type].includes(wanted)) throw new RangeError(`${type} questions cannot have the answer ${JSON.stringify(wanted)}`);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const { question, objects, relation } = draw(rng, type, wanted, layout);
    const scene: Scene = { imageSize, objects: [] };
    if (arrange(rng, scene, objects, layout.sizes, relation) && answer(scene, question) === wanted) return { scene, question, answer: wanted };
  }
  throw new Error(`could not build a ${type} scene with the answer ${wanted} in ${ATTEMPTS} attempts (${describeLayout(layout)}: too many or too large objects?)`);
}

/** "3-6 objects of 20, 28 px", "1 object of 56 px" */
export function describeLayout({ minObjects, maxObjects, sizes }: Layout): string {
  const count = minObjects === maxObjects ? `${minObjects}` : `${minObjects}-${maxObjects}`;
  return `${count} object${maxObjects === 1 ? '' : 's'} of ${sizes.join(', ')} px`;
}

/** Whether a `layout` scene can have a `type` question with this answer (counts need that many objects, relations two). */
export function possible(layout: Layout, type: QuestionType, wanted: string): boolean {
  if (type === 'count') return Number(wanted) <= layout.maxObjects;
  if (type === 'left' || type === 'above') return layout.maxObjects >= 2;
  return true;
}

interface Draft {
  question: Question;
  /** Attributes of the objects to place; for relations: the reference, then the answer object, then the rest. */
  objects: Attributes[];
  relation?: 'left' | 'above';
}

function draw(rng: Rng, type: QuestionType, wanted: string, { minObjects, maxObjects }: Layout): Draft {
  const n = randomInt(rng, type === 'left' || type === 'above' ? Math.max(2, minObjects) : minObjects, maxObjects);
  const others = (count: number, allowed: (a: Attributes) => boolean) => Array.from({ length: count }, () => randomAttributes(rng, allowed));
  switch (type) {
    case 'color': {
      const shape = pick(rng, SHAPES);
      return { question: { type, shape }, objects: [{ shape, color: wanted as Color }, ...others(n - 1, (a) => a.shape !== shape)] };
    }
    case 'shape': {
      const color = pick(rng, COLOR_NAMES);
      return { question: { type, color }, objects: [{ shape: wanted as Shape, color }, ...others(n - 1, (a) => a.color !== color)] };
    }
    case 'count': {
      const of = rng() < 0.5 ? pick(rng, COLOR_NAMES) : pick(rng, SHAPES);
      const k = Number(wanted);
      const has = (a: Attributes) => a.shape === of || a.color === of;
      const total = randomInt(rng, Math.max(minObjects, k), maxObjects);
      return { question: { type, of }, objects: [...others(k, has), ...others(total - k, (a) => !has(a))] };
    }
    case 'exists': {
      const color = pick(rng, COLOR_NAMES);
      const shape = pick(rng, SHAPES);
      // A third of the distractors share the colour, a third the shape: only the pair answers.
      const distractor = (): Attributes => {
        const r = rng();
        if (r < 1 / 3) return { color, shape: pick(rng, SHAPES.filter((s) => s !== shape)) };
        if (r < 2 / 3) return { shape, color: pick(rng, COLOR_NAMES.filter((c) => c !== color)) };
        return randomAttributes(rng, (a) => a.color !== color && a.shape !== shape);
      };
      const target = wanted === 'yes' ? [{ color, shape }] : [];
      return { question: { type, color, shape }, objects: [...target, ...Array.from({ length: n - target.length }, distractor)] };
    }
    case 'left':
    case 'above': {
      const color = pick(rng, COLOR_NAMES);
      const shape = pick(rng, SHAPES);
      const notReference = (a: Attributes) => a.color !== color || a.shape !== shape;
      const target = randomAttributes(rng, (a) => a.shape === wanted && notReference(a));
      return { question: { type, color, shape }, objects: [{ color, shape }, target, ...others(n - 2, notReference)], relation: type };
    }
  }
}

/** Places the objects; for a relation, the answer object inside the reference's cone and every other one outside. */
function arrange(rng: Rng, scene: Scene, objects: Attributes[], sizes: readonly number[], relation?: 'left' | 'above'): boolean {
  if (!relation) return objects.every((a) => place(rng, scene, a.shape, a.color, sizes));
  const [ref, target, ...rest] = objects;
  if (!place(rng, scene, ref.shape, ref.color, sizes)) return false;
  const r = scene.objects[0];
  const where = (want: 'in' | 'out') => (x: number, y: number) => side(relation, r, { ...r, x, y }, scene.imageSize) === want;
  return place(rng, scene, target.shape, target.color, sizes, where('in')) && rest.every((a) => place(rng, scene, a.shape, a.color, sizes, where('out')));
}

function randomAttributes(rng: Rng, allowed: (a: Attributes) => boolean): Attributes {
  const choices = COLOR_NAMES.flatMap((color) => SHAPES.map((shape) => ({ color, shape }))).filter(allowed);
  return pick(rng, choices);
}

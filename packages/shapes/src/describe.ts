/**
 * "What objects are there?": a training-only question whose answer names every object of the scene
 * as "colour shape", ordered by colour (as COLOR_NAMES lists them), then shape (as SHAPES does):
 * "red circle blue square blue triangle". Each word of the answer asks which colour comes next
 * among those in the image, or what shape the object of that colour is. It is not one of the task's
 * question types (their answers are one word, and evaluation asks those); scripts/describe-turns.ts
 * adds it to a training set as one more turn (docs/shapes.md, 3l).
 */
import { COLOR_NAMES, SHAPES, type Scene, type SceneObject } from './scene.js';

export const DESCRIBE_QUESTION = 'What objects are there?';

/** Every object as "colour shape", ordered by colour, then shape. */
export function describeScene(scene: Scene): string {
  const rank = (o: SceneObject) => COLOR_NAMES.indexOf(o.color) * SHAPES.length + SHAPES.indexOf(o.shape);
  return [...scene.objects].sort((a, b) => rank(a) - rank(b)).map((o) => `${o.color} ${o.shape}`).join(' ');
}

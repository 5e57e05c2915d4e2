/**
 * "Describe the scene": training-only questions whose answer names every object of the scene.
 *
 * - by colour, "What objects are there?": every object as "colour shape", ordered by colour (as
 *   COLOR_NAMES lists them), then shape (as SHAPES does): "red circle blue square blue triangle".
 *   Each colour word asks which colour comes next among those in the image; each shape word, what
 *   shape the object of that colour is (a selection keyed by colour).
 * - by shape, "What shape objects are there?": every object as "shape colour", ordered by shape,
 *   then colour: "circle red square blue triangle blue". Here each colour word asks what colour the
 *   object of that shape is (a selection keyed by shape, which the colour questions need).
 *
 * - as text, `sceneText`: every object as "colour shape" in reading order, the order its image
 *   tokens reach the decoder. Not a question: the context of a text-only record that stands in for
 *   the image (scripts/text-scenes.ts, docs/shapes.md 3q), so a decoder can learn to look objects up
 *   by their words before it ever reads an image.
 *
 * They are not the task's question types (those answer in one word, and evaluation asks those);
 * scripts/describe-turns.ts adds them to a training set as one more turn (docs/shapes.md, 3l, 3o).
 */
import { readingOrder } from './patches.js';
import { COLOR_NAMES, SHAPES, type Scene, type SceneObject } from './scene.js';

/** Which attribute orders the description, and comes first in each pair. */
export type DescribeOrder = 'color' | 'shape';

export const DESCRIBE_QUESTIONS: Record<DescribeOrder, string> = {
  color: 'What objects are there?',
  shape: 'What shape objects are there?',
};

/** Every object as "colour shape" ordered by colour then shape, or "shape colour" ordered by shape then colour. */
export function describeScene(scene: Scene, by: DescribeOrder = 'color'): string {
  const color = (o: SceneObject) => COLOR_NAMES.indexOf(o.color);
  const shape = (o: SceneObject) => SHAPES.indexOf(o.shape);
  const rank = by === 'color' ? (o: SceneObject) => color(o) * SHAPES.length + shape(o) : (o: SceneObject) => shape(o) * COLOR_NAMES.length + color(o);
  const pair = by === 'color' ? (o: SceneObject) => `${o.color} ${o.shape}` : (o: SceneObject) => `${o.shape} ${o.color}`;
  return [...scene.objects].sort((a, b) => rank(a) - rank(b)).map(pair).join(' ');
}

/** The scene as the image tokens present it: "blue square red circle", objects in reading order (14 px patches at 168 px). */
export function sceneText(scene: Scene): string {
  return readingOrder(scene, (14 * scene.imageSize) / 168)
    .map((o) => `${o.color} ${o.shape}`)
    .join(' ');
}

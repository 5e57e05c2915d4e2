import { describe, expect, it } from 'vitest';
import { DESCRIBE_QUESTIONS, describeScene, sceneText, shapesVocabulary, words, type Scene } from '../src/index.js';

const at = (shape: Scene['objects'][number]['shape'], color: Scene['objects'][number]['color'], x: number) => ({ shape, color, size: 42, x, y: 84 });

describe('describeScene', () => {
  it('names every object as colour then shape, ordered by colour (red, green, blue, ...) and then shape', () => {
    const scene: Scene = { imageSize: 168, objects: [at('triangle', 'blue', 20), at('circle', 'red', 60), at('square', 'blue', 100)] };
    expect(describeScene(scene)).toBe('red circle blue square blue triangle');
  });

  it('does not depend on where the objects are', () => {
    const a: Scene = { imageSize: 168, objects: [at('circle', 'cyan', 20), at('square', 'green', 120)] };
    const b: Scene = { imageSize: 168, objects: [at('square', 'green', 20), at('circle', 'cyan', 120)] };
    expect(describeScene(a)).toBe('green square cyan circle');
    expect(describeScene(b)).toBe(describeScene(a));
  });

  it('asks and answers in words the shapes-llava tokenizer has', () => {
    const vocabulary = new Set(shapesVocabulary());
    const scene: Scene = { imageSize: 168, objects: [at('triangle', 'yellow', 20), at('circle', 'purple', 60)] };
    for (const by of ['color', 'shape'] as const) {
      for (const word of words(`${DESCRIBE_QUESTIONS[by]} ${describeScene(scene, by)}`)) expect(vocabulary.has(word), word).toBe(true);
    }
  });

  it('by shape, names every object as shape then colour, ordered by shape (circle, square, triangle) and then colour', () => {
    const scene: Scene = { imageSize: 168, objects: [at('triangle', 'blue', 20), at('circle', 'red', 60), at('square', 'blue', 100), at('circle', 'green', 140)] };
    expect(describeScene(scene, 'shape')).toBe('circle red circle green square blue triangle blue');
  });

  it('asks the two orders with different questions', () => {
    expect(DESCRIBE_QUESTIONS.color).not.toBe(DESCRIBE_QUESTIONS.shape);
  });
});

describe('sceneText', () => {
  const placed = (shape: Scene['objects'][number]['shape'], color: Scene['objects'][number]['color'], x: number, y: number) => ({ shape, color, size: 42, x, y });

  it('names every object as colour then shape, in the order their patches are read: row of the centre, then x', () => {
    // Rows of 14 px: y 30 is row 2, y 40 row 2, y 100 row 7; within row 2 the smaller x comes first.
    const scene: Scene = { imageSize: 168, objects: [placed('circle', 'red', 30, 100), placed('square', 'blue', 120, 40), placed('triangle', 'green', 60, 30)] };
    expect(sceneText(scene)).toBe('green triangle blue square red circle');
  });

  it('reads rows of 14 px patches at 168 px whatever the image size', () => {
    // At 336 px a patch row is 28 px: y 50 and y 30 share row 1, so x decides.
    const scene: Scene = { imageSize: 336, objects: [placed('square', 'cyan', 200, 30), placed('circle', 'yellow', 100, 50)] };
    expect(sceneText(scene)).toBe('yellow circle cyan square');
  });

  it('uses only words the shapes-llava tokenizer has', () => {
    const vocabulary = new Set(shapesVocabulary());
    const scene: Scene = { imageSize: 168, objects: [placed('triangle', 'purple', 20, 20), placed('square', 'green', 90, 90)] };
    for (const word of words(sceneText(scene))) expect(vocabulary.has(word), word).toBe(true);
  });
});

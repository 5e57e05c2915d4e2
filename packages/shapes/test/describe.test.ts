import { describe, expect, it } from 'vitest';
import { DESCRIBE_QUESTIONS, describeScene, shapesVocabulary, words, type Scene } from '../src/index.js';

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

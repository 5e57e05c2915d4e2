import { describe, expect, it } from 'vitest';
import { DESCRIBE_QUESTION, describeScene, shapesVocabulary, words, type Scene } from '../src/index.js';

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
    for (const word of words(`${DESCRIBE_QUESTION} ${describeScene(scene)}`)) expect(vocabulary.has(word), word).toBe(true);
  });
});

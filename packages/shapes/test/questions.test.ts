import { describe, expect, it } from 'vitest';
import { allQuestions, answer, questionText, type Question, type Scene, type SceneObject } from '../src/index.js';

const object = (shape: SceneObject['shape'], color: SceneObject['color'], x: number, y: number, size = 16): SceneObject => ({ shape, color, size, x, y });

// A red circle, a blue square 60 px to its right, and a green triangle 50 px above the square:
//
//            ▲ green (100, 30)
//
//   ● red (40, 80)     ■ blue (100, 80)
const scene: Scene = {
  imageSize: 168,
  objects: [object('circle', 'red', 40, 80), object('square', 'blue', 100, 80), object('triangle', 'green', 100, 30, 10)],
};

describe('questions on a hand-built three-object scene', () => {
  it.each<[Question, string]>([
    [{ type: 'color', shape: 'circle' }, 'red'],
    [{ type: 'color', shape: 'triangle' }, 'green'],
    [{ type: 'shape', color: 'blue' }, 'square'],
    [{ type: 'count', of: 'red' }, '1'],
    [{ type: 'count', of: 'yellow' }, '0'],
    [{ type: 'count', of: 'square' }, '1'],
    [{ type: 'exists', color: 'red', shape: 'circle' }, 'yes'],
    [{ type: 'exists', color: 'red', shape: 'square' }, 'no'],
    // Left of the square: the circle (dx 60, dy 0) is in the cone; the triangle (dx 0, dy 50) is not.
    [{ type: 'left', color: 'blue', shape: 'square' }, 'circle'],
    // Above the square: the triangle (50 up, 0 across) is in the cone; the circle (0 up, 60 across) is not.
    [{ type: 'above', color: 'blue', shape: 'square' }, 'triangle'],
  ])('answers %j with %s', (q, expected) => {
    expect(answer(scene, q)).toBe(expected);
  });

  it('counts three objects of a shape when there are three', () => {
    const three: Scene = { imageSize: 168, objects: [object('circle', 'red', 20, 20), object('circle', 'blue', 60, 20), object('circle', 'red', 100, 20)] };
    expect(answer(three, { type: 'count', of: 'circle' })).toBe('3');
    expect(answer(three, { type: 'count', of: 'red' })).toBe('2');
  });

  it('does not pose "the circle" when there are two circles', () => {
    const two: Scene = { imageSize: 168, objects: [object('circle', 'red', 20, 20), object('circle', 'blue', 60, 20)] };
    expect(answer(two, { type: 'color', shape: 'circle' })).toBeUndefined();
  });

  it('does not pose a relation when nothing lies in the cone', () => {
    expect(answer(scene, { type: 'left', color: 'red', shape: 'circle' })).toBeUndefined();
  });

  it('does not pose a relation when an object sits on the edge of the cone', () => {
    // The circle is 40 px left and 38 px below the square: dx - |dy| = 2 < the 4 px margin.
    const edge: Scene = { imageSize: 168, objects: [object('circle', 'red', 60, 118), object('square', 'blue', 100, 80)] };
    expect(answer(edge, { type: 'left', color: 'blue', shape: 'square' })).toBeUndefined();
  });

  it('words each type of question as documented', () => {
    expect(questionText({ type: 'color', shape: 'circle' })).toBe('What color is the circle?');
    expect(questionText({ type: 'shape', color: 'red' })).toBe('What shape is the red object?');
    expect(questionText({ type: 'count', of: 'red' })).toBe('How many red objects are there?');
    expect(questionText({ type: 'count', of: 'triangle' })).toBe('How many triangles are there?');
    expect(questionText({ type: 'exists', color: 'red', shape: 'circle' })).toBe('Is there a red circle?');
    expect(questionText({ type: 'left', color: 'red', shape: 'circle' })).toBe('What shape is left of the red circle?');
    expect(questionText({ type: 'above', color: 'red', shape: 'circle' })).toBe('What shape is above the red circle?');
  });

  it('lists every question the generator can ask: 3 + 6 + 9 + 3 x 18', () => {
    expect(allQuestions()).toHaveLength(3 + 6 + 9 + 3 * 18);
  });
});

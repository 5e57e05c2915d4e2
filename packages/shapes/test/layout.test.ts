import { describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT, LayoutError, QUESTION_TYPES, parseLayout, parseTypes } from '../src/index.js';

describe('parseLayout', () => {
  it('reads MIN-MAX objects and a list of sizes', () => {
    expect(parseLayout('1-3', '42,56')).toEqual({ minObjects: 1, maxObjects: 3, sizes: [42, 56] });
  });

  it('reads a single number of objects as MIN = MAX', () => {
    expect(parseLayout('2', undefined)).toMatchObject({ minObjects: 2, maxObjects: 2 });
  });

  it("keeps the task's layout for what is not given", () => {
    expect(parseLayout(undefined, undefined)).toEqual(DEFAULT_LAYOUT);
    expect(parseLayout(undefined, '84')).toEqual({ ...DEFAULT_LAYOUT, sizes: [84] });
  });

  it.each([
    ['1..2', undefined, '--objects must be MIN-MAX or N, got "1..2"'],
    ['3-1', undefined, '--objects MIN-MAX needs MIN <= MAX, got "3-1"'],
    ['0-2', undefined, '--objects must be an integer from 1 to 12, got "0"'],
    ['1-13', undefined, '--objects must be an integer from 1 to 12, got "13"'],
    [undefined, '42,7', '--sizes must be an integer from 8 to 84, got "7"'],
    [undefined, '42,,56', '--sizes must be an integer from 8 to 84, got ""'],
    [undefined, '4.2e1', '--sizes must be an integer from 8 to 84, got "4.2e1"'],
  ])('refuses --objects %s --sizes %s, naming the flag', (objects, sizes, message) => {
    expect(() => parseLayout(objects, sizes)).toThrow(new LayoutError(message));
  });
});

describe('parseTypes', () => {
  it('reads a comma list of question types in the order given', () => {
    expect(parseTypes('shape,color')).toEqual(['shape', 'color']);
  });

  it('asks every type when none is given', () => {
    expect(parseTypes(undefined)).toEqual(QUESTION_TYPES);
  });

  it.each([
    ['shape,size', '--types must be some of color,shape,count,exists,left,above, got "size"'],
    ['shape,', '--types must be some of color,shape,count,exists,left,above, got ""'],
  ])('refuses --types %s, naming the flag and the word', (types, message) => {
    expect(() => parseTypes(types)).toThrow(new LayoutError(message));
  });
});

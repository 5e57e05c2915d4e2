import { describe, expect, it } from 'vitest';
import { Tensor, tensor } from '@adsc/core';
import { mergeImage, stemLength, withBranches } from '../src/index.js';

// Embedding of id i is the row [i, i]; image features are rows [-1, -1] and [-2, -2].
const embed = (ids: readonly number[]): Tensor => tensor(ids.flatMap((i) => [i, i]), [ids.length, 2]);
const features = tensor([-1, -1, -2, -2], [2, 2]);
const IMAGE = 99;

describe('mergeImage', () => {
  it('replaces one image token by all the features, in place', () => {
    const s = mergeImage([1, 5, IMAGE, 6], IMAGE, features, embed);
    expect(s.hidden.toArray()).toEqual([1, 1, 5, 5, -1, -1, -2, -2, 6, 6]);
    expect([s.visionStart, s.visionCount]).toEqual([2, 2]);
    expect(Array.from(s.positions)).toEqual([0, 1, 2, 3, 4]);
  });

  it('accepts a prompt already expanded to one image token per feature', () => {
    const s = mergeImage([1, IMAGE, IMAGE, 6], IMAGE, features, embed);
    expect(s.hidden.toArray()).toEqual([1, 1, -1, -1, -2, -2, 6, 6]);
    expect([s.visionStart, s.visionCount]).toEqual([1, 2]);
  });

  it('embeds a text-only prompt with no vision span', () => {
    const s = mergeImage([1, 2], IMAGE, undefined, embed);
    expect(s.visionCount).toBe(0);
    expect(s.hidden.shape).toEqual([2, 2]);
  });

  it('refuses an image without an image token', () => {
    expect(() => mergeImage([1, 2], IMAGE, features, embed)).toThrow('an image was given but the prompt has no image token (id 99)');
  });

  it('refuses an image token without an image', () => {
    expect(() => mergeImage([1, IMAGE], IMAGE, undefined, embed)).toThrow('the prompt has 1 image token(s) (id 99) but no image was given');
  });

  it('refuses image tokens that are neither one nor one per feature', () => {
    expect(() => mergeImage([IMAGE, 1, IMAGE], IMAGE, features, embed)).toThrow(/has 2 image tokens .* expected one, or 2 consecutive ones/);
  });
});

describe('withBranches', () => {
  // <s> 5 <image> | 6 7 | 8 9 10: a stem of 1 + 1 + 2 vision rows, then branches of 2 and 3 rows.
  const seq = () => mergeImage([1, 5, IMAGE, 6, 7, 8, 9, 10], IMAGE, features, embed);

  it('restarts every branch\'s position ids where the stem ends', () => {
    const s = withBranches(seq(), [2, 3]);
    expect(Array.from(s.positions)).toEqual([0, 1, 2, 3, 4, 5, 4, 5, 6]);
    expect(s.branches).toEqual([2, 3]);
    expect(stemLength(s)).toBe(4);
  });

  it('leaves the rows themselves as they were', () => {
    expect(withBranches(seq(), [2, 3]).hidden.toArray()).toEqual(seq().hidden.toArray());
  });

  it('refuses branches that reach into the image', () => {
    expect(() => withBranches(seq(), [3, 3])).toThrow('branches of 3 + 3 tokens leave a stem of 3 of the 9 tokens; it must hold the image (tokens [0, 4))');
  });

  it('refuses an empty branch', () => {
    expect(() => withBranches(seq(), [2, 0])).toThrow('branch 1 has length 0; branches must be positive integers');
  });
});

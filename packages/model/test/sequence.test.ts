import { describe, expect, it } from 'vitest';
import { Tensor, tensor } from '@adsc/core';
import { mergeImage } from '../src/index.js';

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

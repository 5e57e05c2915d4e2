import { describe, expect, it } from 'vitest';
import { centrePatches, patchOwners, readingOrder, type Scene } from '../src/index.js';

/** The patches (row, column) of a 12 x 12 grid that `owners` gives to object `i`. */
const patchesOf = (owners: number[], i: number) => owners.flatMap((o, t) => (o === i ? [[Math.floor(t / 12), t % 12]] : []));

describe('patchOwners', () => {
  it('gives a 28 px square on [7, 35)^2 the 3 x 3 patches it covers by a quarter or more', () => {
    // Patch (0, 0) is [0, 14)^2: the square covers [7, 14)^2 of it, a quarter (16 of 49 samples);
    // patch (1, 1) whole; patch (2, 2) [28, 35)^2, a quarter again; patch 3 nothing.
    const scene: Scene = { imageSize: 168, objects: [{ shape: 'square', color: 'red', size: 28, x: 21, y: 21 }] };
    const owners = patchOwners(scene, 14);
    expect(patchesOf(owners, 0)).toEqual([[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]]);
    expect(owners.filter((o) => o === -1)).toHaveLength(144 - 9);
  });

  it('leaves a patch the object covers by less than a quarter to the background', () => {
    // The square on [8, 36)^2 covers 6 x 6 px of patch (0, 0): 9 of 49 samples.
    const scene: Scene = { imageSize: 168, objects: [{ shape: 'square', color: 'red', size: 28, x: 22, y: 22 }] };
    expect(patchOwners(scene, 14)[0]).toBe(-1);
  });

  it('gives a patch two objects share to the one covering more of it', () => {
    // Patch (0, 1) is x in [14, 28): the left square reaches x = 17 (3 px), the right one starts at 18 (10 px).
    const scene: Scene = {
      imageSize: 168,
      objects: [
        { shape: 'square', color: 'red', size: 14, x: 10, y: 7 },
        { shape: 'square', color: 'blue', size: 14, x: 25, y: 7 },
      ],
    };
    expect(patchOwners(scene, 14)[1]).toBe(1);
  });
});

describe('readingOrder', () => {
  const at = (color: 'red' | 'green' | 'blue', x: number, y: number) => ({ shape: 'circle' as const, color, size: 14, x, y });

  it('puts an object whose centre lies in a higher patch row first, however far right it is', () => {
    // Centres at y 27 (row 1) and y 29 (row 2): the right one is a row higher.
    const scene: Scene = { imageSize: 168, objects: [at('red', 20, 29), at('blue', 150, 27)] };
    expect(readingOrder(scene, 14).map((o) => o.color)).toEqual(['blue', 'red']);
  });

  it('orders objects whose centres share a patch row by x', () => {
    // y 15 and 27 are both in row 1 (14 <= y < 28), so the higher one does not come first.
    const scene: Scene = { imageSize: 168, objects: [at('red', 100, 15), at('green', 40, 27), at('blue', 70, 60)] };
    expect(readingOrder(scene, 14).map((o) => o.color)).toEqual(['green', 'red', 'blue']);
  });
});

describe('centrePatches', () => {
  it('flags the one patch under each object centre with that object, and no other', () => {
    // Centres (21, 21) -> row 1, column 1 (patch 13); (150, 100) -> row 7, column 10 (patch 94).
    const scene: Scene = {
      imageSize: 168,
      objects: [
        { shape: 'square', color: 'red', size: 28, x: 21, y: 21 },
        { shape: 'circle', color: 'blue', size: 56, x: 150, y: 100 },
      ],
    };
    const centres = centrePatches(scene, 14);
    expect(centres[13]).toBe(0);
    expect(centres[94]).toBe(1);
    expect(centres.filter((c) => c === -1)).toHaveLength(144 - 2);
  });

  it('puts a centre on a patch border in the patch to its right and below', () => {
    // x = y = 28 is the first pixel of row 2, column 2 (patch 26).
    const scene: Scene = { imageSize: 168, objects: [{ shape: 'circle', color: 'red', size: 20, x: 28, y: 28 }] };
    expect(centrePatches(scene, 14).indexOf(0)).toBe(26);
  });
});

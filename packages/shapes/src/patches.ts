/**
 * Which object each vision patch shows: the labels a tower is trained on alone
 * (scripts/pretrain-vision.ts). A patch belongs to the object that covers the most of it, if that
 * is at least a quarter, measured on a 7 x 7 grid of sample points (the renderer's `inside`).
 */
import { inside } from './render.js';
import type { Scene, SceneObject } from './scene.js';

const SAMPLES = 7;

/** Per patch, row-major over the (imageSize / patch)^2 grid: the index of its object in `scene.objects`, or -1. */
export function patchOwners(scene: Scene, patch: number): number[] {
  const grid = Math.floor(scene.imageSize / patch);
  const owners: number[] = [];
  for (let t = 0; t < grid * grid; t++) {
    const x0 = (t % grid) * patch;
    const y0 = Math.floor(t / grid) * patch;
    let best = -1;
    let bestHits = 0;
    scene.objects.forEach((o, i) => {
      let hits = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          if (inside(o, x0 + ((sx + 0.5) * patch) / SAMPLES - o.x, y0 + ((sy + 0.5) * patch) / SAMPLES - o.y)) hits++;
        }
      }
      if (hits > bestHits) [best, bestHits] = [i, hits];
    });
    owners.push(bestHits >= (SAMPLES * SAMPLES) / 4 ? best : -1);
  }
  return owners;
}

/**
 * The scene's objects in reading order: by the row of the patch under their centre, then by x. It is
 * the order in which each object's first tokens reach the decoder (patches run row by row).
 */
export function readingOrder(scene: Scene, patch: number): SceneObject[] {
  const row = (o: SceneObject) => Math.floor(o.y / patch);
  return [...scene.objects].sort((a, b) => row(a) - row(b) || a.x - b.x);
}

/**
 * Per patch, row-major: the index of the object whose centre lies in it, or -1. One patch per object,
 * so a tower that flags these patches lets a reader count objects by counting flagged tokens, where
 * an object's owned patches (`patchOwners`) number 4 to 25 with its size and place. At 20 px and
 * larger two centres are at least 22 px apart and never share a 14 px patch; smaller objects may,
 * and then the later one holds it.
 */
export function centrePatches(scene: Scene, patch: number): number[] {
  const grid = Math.floor(scene.imageSize / patch);
  const centres = new Array<number>(grid * grid).fill(-1);
  scene.objects.forEach((o, i) => {
    const row = Math.min(grid - 1, Math.floor(o.y / patch));
    const column = Math.min(grid - 1, Math.floor(o.x / patch));
    centres[row * grid + column] = i;
  });
  return centres;
}


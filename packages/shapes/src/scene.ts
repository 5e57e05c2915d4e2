/**
 * A scene: a few coloured shapes at random, non-overlapping places on a plain background.
 *
 * Sizes are given at the model's 168 px image (a 12 x 12 grid of 14 px patches) and scale with
 * the image: objects are 20 or 28 px across (1.4 to 2 patches), so an object lives in four to
 * nine vision tokens: large enough for a model trained from scratch to tell the shapes apart,
 * small enough that a schedule that drops tokens uniformly can drop most of one.
 */

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export type Shape = (typeof SHAPES)[number];

/** Six colours far apart in RGB, all clearly different from the background. */
export const COLORS = {
  red: [220, 40, 40],
  green: [40, 170, 70],
  blue: [40, 90, 230],
  yellow: [235, 200, 30],
  purple: [150, 70, 200],
  cyan: [30, 190, 210],
} as const satisfies Record<string, readonly [number, number, number]>;
export type Color = keyof typeof COLORS;
export const COLOR_NAMES = Object.keys(COLORS) as Color[];

export const BACKGROUND: readonly [number, number, number] = [230, 230, 230];

/** The image size the geometry below is written for. */
export const BASE_IMAGE_SIZE = 168;
/**
 * How many objects a scene holds and how big they are: sizes (circle diameter, square side,
 * triangle base and height) are in pixels at 168 px and scale with the image.
 */
export interface Layout {
  minObjects: number;
  maxObjects: number;
  sizes: readonly number[];
}
/** The task's scenes: 3 to 6 objects of 20 or 28 px (1.4 to 2 patches). */
export const DEFAULT_LAYOUT: Layout = { minObjects: 3, maxObjects: 6, sizes: [20, 28] };
/** Clear space at 168 px between two objects' bounding circles, and between an object and the border. */
const GAP = 2;

export interface SceneObject {
  shape: Shape;
  color: Color;
  /** Pixels across. */
  size: number;
  /** Centre, in pixels from the top-left corner (y grows downwards). */
  x: number;
  y: number;
}

export interface Scene {
  /** Width and height of the square image, in pixels. */
  imageSize: number;
  objects: SceneObject[];
}

export type Rng = () => number;

export const isShape = (v: string): v is Shape => (SHAPES as readonly string[]).includes(v);
export const isColor = (v: string): v is Color => v in COLORS;

/** Radius of the circle around the centre that holds the whole shape (a square's half-diagonal). */
export function reach(o: Pick<SceneObject, 'size'>): number {
  return o.size / Math.SQRT2;
}

/** How many pixels 168 px geometry becomes at `imageSize`. */
export function scaled(px: number, imageSize: number): number {
  return (px * imageSize) / BASE_IMAGE_SIZE;
}

/** Whether `o` lies inside the image and keeps its distance from every object of `scene`. */
export function fits(scene: Scene, o: SceneObject): boolean {
  const gap = scaled(GAP, scene.imageSize);
  const r = reach(o);
  if (o.x - r < gap || o.y - r < gap || o.x + r > scene.imageSize - gap || o.y + r > scene.imageSize - gap) return false;
  return scene.objects.every((p) => Math.hypot(p.x - o.x, p.y - o.y) >= r + reach(p) + gap);
}

/**
 * Puts an object of the given shape and colour (a size drawn from `sizes`, at 168 px) at a random
 * free place where `accept(x, y)` holds; returns false when `tries` random places all failed.
 */
export function place(
  rng: Rng, scene: Scene, shape: Shape, color: Color, sizes: readonly number[] = DEFAULT_LAYOUT.sizes,
  accept: (x: number, y: number) => boolean = () => true, tries = 300,
): boolean {
  const size = Math.round(scaled(pick(rng, sizes), scene.imageSize));
  for (let t = 0; t < tries; t++) {
    const o = { shape, color, size, x: Math.floor(rng() * scene.imageSize), y: Math.floor(rng() * scene.imageSize) };
    if (accept(o.x, o.y) && fits(scene, o)) {
      scene.objects.push(o);
      return true;
    }
  }
  return false;
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

/** A uniform integer in [lo, hi]. */
export function randomInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Fisher-Yates, in place. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

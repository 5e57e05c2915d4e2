/**
 * The KV cache: each decoder layer keeps the keys and values of every token it has processed.
 *
 * Layers may hold different numbers of tokens: under ADSC a layer after a reduction caches only
 * the surviving vision tokens, so its cache is shorter than an early layer's. That is where the
 * peak-KV saving comes from, and why there is one `LayerCache` per layer with its own length.
 *
 * Storage is token-major, [capacity, kvHeads * headDim], the layout the k/v projections produce,
 * so appending is a row copy; attention reads it as the strided view [kvHeads, length, headDim].
 * A layer's cache of CACHE_ARENA_MIN_BYTES or more sits in a wasm arena (core's `placeFreeable`),
 * where the decode step's attention reads it in place with SIMD kernels; smaller ones, or all of
 * them where arenas are unsupported, on shared buffers of their own. An arena block goes back to
 * its arena when the cache grows out of it or is released (`release`, which `generate` calls when
 * it is done), or else when the cache is garbage-collected. So the views `keys()` and `values()`
 * return are valid until the next `append` or `release`: read them, do not keep them.
 */
import { Tensor, allocate, f32Values, placeFreeable, releaseFreeable } from '@adsc/core';

/** Keys and values of one layer from this many bytes on go to a wasm arena. */
export const CACHE_ARENA_MIN_BYTES = 1 << 20;

export class LayerCache {
  private k: Float32Array;
  private v: Float32Array;
  private used = 0;
  private next = 0;

  constructor(
    readonly kvHeads: number,
    readonly headDim: number,
    /** Tokens of room the first append leaves beyond its own (a generation's new tokens). */
    readonly spare = 0,
  ) {
    this.k = new Float32Array(0);
    this.v = new Float32Array(0);
  }

  /** Tokens cached so far. */
  get length(): number {
    return this.used;
  }

  /** Elements held (keys and values). */
  get elements(): number {
    return 2 * this.used * this.kvHeads * this.headDim;
  }

  /**
   * The position id the next token of this layer takes: one past the last cached token's. With
   * original position ids that is the prompt length; with renumbered ids (PyramidDrop) it is this
   * layer's own token count.
   */
  get nextPosition(): number {
    return this.next;
  }

  /** Elements allocated (keys and values), held or spare. */
  get allocatedElements(): number {
    return this.k.length + this.v.length;
  }

  /**
   * Appends T tokens: k and v are [T, kvHeads * headDim], `positions` their T position ids. The
   * first append allocates T + `spare` tokens (with no spare room, a cache right after prefill
   * holds exactly the prompt); later ones grow by half, copying the whole cache.
   */
  append(k: Tensor, v: Tensor, positions: ArrayLike<number>): void {
    const width = this.kvHeads * this.headDim;
    const tokens = k.shape[0];
    if (k.shape[1] !== width || v.shape[0] !== tokens || v.shape[1] !== width) {
      throw new Error(`LayerCache.append: k [${k.shape}] / v [${v.shape}] do not match ${this.kvHeads} heads of ${this.headDim}`);
    }
    const needed = (this.used + tokens) * width;
    if (needed > this.k.length) {
      const capacity = this.used === 0 ? needed + this.spare * width : Math.max(needed, Math.ceil((this.k.length * 1.5) / width) * width);
      const [k, v] = storage(capacity);
      k.set(this.k.subarray(0, this.used * width));
      v.set(this.v.subarray(0, this.used * width));
      releaseFreeable(this.k); // the old block, when it was in an arena
      [this.k, this.v] = [k, v];
    }
    this.k.set(f32Values(k), this.used * width);
    this.v.set(f32Values(v), this.used * width);
    this.used += tokens;
    if (tokens > 0) this.next = positions[tokens - 1] + 1;
  }

  /** Empties the cache and gives its storage back now (to its arena, when it was in one). */
  release(): void {
    releaseFreeable(this.k);
    this.k = new Float32Array(0);
    this.v = new Float32Array(0);
    this.used = 0;
    this.next = 0;
  }

  /** Keys as [kvHeads, length, headDim] (a strided view, no copy; valid until the next append or release). */
  keys(): Tensor {
    return this.view(this.k);
  }

  values(): Tensor {
    return this.view(this.v);
  }

  private view(data: Float32Array): Tensor {
    // Token-major [length, kvHeads, headDim] read as [kvHeads, length, headDim].
    const width = this.kvHeads * this.headDim;
    return new Tensor('f32', data, [this.kvHeads, this.used, this.headDim], [this.headDim, width, 1], 0);
  }
}

/** Zeroed keys and values of `capacity` elements each: in an arena when large enough and possible. */
function storage(capacity: number): [Float32Array, Float32Array] {
  const placed = capacity * 8 >= CACHE_ARENA_MIN_BYTES ? placeFreeable(capacity, 2) : undefined;
  if (placed) return [placed[0], placed[1]];
  return [allocate('f32', capacity) as Float32Array, allocate('f32', capacity) as Float32Array];
}

/** One LayerCache per decoder layer. */
export class KVCache {
  readonly layers: LayerCache[];

  /** `spare`: tokens of room each layer's first append leaves (see LayerCache). */
  constructor(numLayers: number, kvHeads: number, headDim: number, spare = 0) {
    this.layers = Array.from({ length: numLayers }, () => new LayerCache(kvHeads, headDim, spare));
  }

  /** Elements held in all layers' K and V caches. */
  get elements(): number {
    return this.layers.reduce((s, l) => s + l.elements, 0);
  }

  get allocatedElements(): number {
    return this.layers.reduce((s, l) => s + l.allocatedElements, 0);
  }

  /** Empties every layer and gives the storage back now (see LayerCache.release). */
  release(): void {
    for (const l of this.layers) l.release();
  }

  /** Tokens each layer holds. */
  lengths(): number[] {
    return this.layers.map((l) => l.length);
  }
}

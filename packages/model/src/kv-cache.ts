/**
 * The KV cache: each decoder layer keeps the keys and values of every token it has processed.
 *
 * Layers may hold different numbers of tokens: under ADSC a layer after a reduction caches only
 * the surviving vision tokens, so its cache is shorter than an early layer's. That is where the
 * peak-KV saving comes from, and why there is one `LayerCache` per layer with its own length.
 *
 * Storage is token-major, [capacity, kvHeads * headDim], the layout the k/v projections produce,
 * so appending is a row copy; attention reads it as the strided view [kvHeads, length, headDim].
 */
import { Tensor, allocate, f32Values } from '@adsc/core';

export class LayerCache {
  private k: Float32Array;
  private v: Float32Array;
  private used = 0;
  private next = 0;

  constructor(
    readonly kvHeads: number,
    readonly headDim: number,
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
   * first append allocates exactly T tokens (so a cache right after prefill holds no spare room);
   * later ones grow by half.
   */
  append(k: Tensor, v: Tensor, positions: ArrayLike<number>): void {
    const width = this.kvHeads * this.headDim;
    const tokens = k.shape[0];
    if (k.shape[1] !== width || v.shape[0] !== tokens || v.shape[1] !== width) {
      throw new Error(`LayerCache.append: k [${k.shape}] / v [${v.shape}] do not match ${this.kvHeads} heads of ${this.headDim}`);
    }
    const needed = (this.used + tokens) * width;
    if (needed > this.k.length) {
      const capacity = this.used === 0 ? needed : Math.max(needed, Math.ceil((this.k.length * 1.5) / width) * width);
      this.k = grow(this.k, capacity, this.used * width);
      this.v = grow(this.v, capacity, this.used * width);
    }
    this.k.set(f32Values(k), this.used * width);
    this.v.set(f32Values(v), this.used * width);
    this.used += tokens;
    if (tokens > 0) this.next = positions[tokens - 1] + 1;
  }

  /** Keys as [kvHeads, length, headDim] (a strided view, no copy). */
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

function grow(old: Float32Array, capacity: number, keep: number): Float32Array {
  const next = allocate('f32', capacity) as Float32Array;
  next.set(old.subarray(0, keep));
  return next;
}

/** One LayerCache per decoder layer. */
export class KVCache {
  readonly layers: LayerCache[];

  constructor(numLayers: number, kvHeads: number, headDim: number) {
    this.layers = Array.from({ length: numLayers }, () => new LayerCache(kvHeads, headDim));
  }

  /** Elements held in all layers' K and V caches. */
  get elements(): number {
    return this.layers.reduce((s, l) => s + l.elements, 0);
  }

  get allocatedElements(): number {
    return this.layers.reduce((s, l) => s + l.allocatedElements, 0);
  }

  /** Tokens each layer holds. */
  lengths(): number[] {
    return this.layers.map((l) => l.length);
  }
}

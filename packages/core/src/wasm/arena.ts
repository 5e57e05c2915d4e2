/**
 * Weight arenas: large weights placed inside shared WebAssembly memories, so that the decode
 * step's dot kernels read them where they lie.
 *
 * A wasm instance addresses only its own linear memory, so a weight on a SharedArrayBuffer of its
 * own must be copied in before a kernel can read it. The blocked GEMM copies anyway (it packs), but
 * the decode step (a few rows of x against every weight row) is bound by how fast weights stream
 * from memory, and the copy doubled the traffic: it took 40 % of a 7B decode step. An arena is a
 * fixed-size shared `WebAssembly.Memory`; weights are bump-allocated in it and viewed as ordinary
 * typed arrays over its buffer (a SharedArrayBuffer, so worker threads see them as they see every
 * tensor). Each thread instantiates the kernel module once per arena, over the arena's memory.
 *
 * Layout of an arena:
 *
 *   [0, 64)                     header: the arena's id (u32), read by threads to find their instance
 *   [64, 64 + SLOTS * SLOT)     scratch slots: part i of a product copies x in and reads its outputs
 *                               from slot i (x rows at the slot's start, outputs from SLOT_X_BYTES on)
 *   [FIRST_WEIGHT, ARENA_BYTES) blocks, 64-byte aligned: weights and KV caches
 *
 * Two kinds of block. A weight (`placeWeight`) is held until the process ends: only weights loaded
 * once per process belong here (`allocateWeight`'s callers: the safetensors loader, the 7B bench),
 * and only large ones (ARENA_MIN_BYTES), so that tests loading small checkpoints many times do not
 * pile up. A freeable block (`placeFreeable`: a layer's KV cache, which the decode attention reads
 * in place) goes back to its arena's free list when its owner says so (`releaseFreeable`), or else
 * once every array it was handed out as has been garbage-collected (a FinalizationRegistry: its
 * callbacks run only between tasks, never inside a synchronous loop, hence the explicit release),
 * and the next block that fits reuses it. Memory an arena has touched stays resident: a freed block
 * is reused, not returned to the system.
 * Nothing here uses Node APIs; without SharedArrayBuffer or SIMD there are no arenas and
 * `placeWeight` / `placeFreeable` return undefined.
 */
import type { DType, Storage } from '../dtype.js';
import { allocate, bytesPerElement, isShared, storageView } from '../dtype.js';
import { kernelModule } from './kernels.js';
import { webAssembly, type WasmMemory, type WasmModule } from './webassembly.js';

/** An arena as a product's parts carry it to their threads (a shared Memory clones as a handle). */
export interface ArenaHandle {
  id: number;
  memory: WasmMemory;
}

const PAGE = 65536;
/** 2 GiB per arena: 32-bit addresses reach 4 GiB, and a half-full last arena wastes less. */
export const ARENA_BYTES = 2 ** 31;
const HEADER_BYTES = 64;
/** Parts of one product that can run in place (part index = slot); more fall back to copying. */
export const ARENA_SLOTS = 64;
/** Bytes of x rows per slot (4 rows of up to 32,768 f32), then as many of outputs. */
export const SLOT_X_BYTES = 512 * 1024;
export const SLOT_BYTES = 2 * SLOT_X_BYTES;
const FIRST_WEIGHT = HEADER_BYTES + ARENA_SLOTS * SLOT_BYTES;
/** Weights smaller than this stay on buffers of their own (they fit in cache; a weight in an arena is never freed). */
export const ARENA_MIN_BYTES = 4 * 1024 * 1024;

/** Bytes [at, at + bytes) of an arena that a freed block left, kept sorted by `at` and merged. */
interface FreeRange {
  at: number;
  bytes: number;
}

interface Arena extends ArenaHandle {
  buffer: ArrayBufferLike;
  /** End of the bump-allocated part: nothing past it is handed out now. */
  used: number;
  /** The highest `used` ever reached: memory past it is still zero. */
  touched: number;
  free: FreeRange[];
}

const arenas: Arena[] = [];
let nextId = 1;

interface SharedMemoryApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

/** Whether weights can be placed in arenas here (WebAssembly SIMD and SharedArrayBuffer). */
export function arenasSupported(): boolean {
  return typeof SharedArrayBuffer === 'function' && sharedModule() !== null;
}

/**
 * A zeroed storage of `length` elements inside an arena, or undefined where arenas are not
 * supported, the dtype is not one the kernels read (f32, f16, bf16), or the tensor is larger than
 * an arena holds. Used for weights that are loaded once.
 */
export function placeWeight(dtype: DType, length: number): Float32Array | Uint16Array | undefined {
  if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'bf16') return undefined;
  const block = take(length * bytesPerElement(dtype));
  if (!block) return undefined;
  const view = storageView(dtype, block.arena.buffer, block.at, length) as Float32Array | Uint16Array;
  if (!block.zero) view.fill(0);
  return view;
}

/**
 * `count` zeroed f32 arrays of `length` elements, one after another in one arena (so that one
 * kernel instance reads them all), or undefined where arenas are not supported or the block is
 * larger than an arena. The block returns to the arena's free list when all `count` arrays have
 * been garbage-collected: views made with `subarray` must not outlive them.
 */
export function placeFreeable(length: number, count: number): Float32Array[] | undefined {
  const stride = align(length * 4);
  const block = take(stride * count);
  if (!block) return undefined;
  const { arena, at, bytes, zero } = block;
  const views = Array.from({ length: count }, (_, i) => new Float32Array(arena.buffer, at + i * stride, length));
  if (!zero) for (const v of views) v.fill(0);
  const held: Freeable = { arena, at, bytes, live: count, released: false };
  for (const v of views) {
    collected.register(v, held, held);
    freeables.set(v, held);
  }
  return views;
}

/**
 * Returns the block `array` (one of `placeFreeable`'s arrays) lies in to its arena now; every array
 * of the block is invalid from here on (its bytes go to the next block). False, and nothing done,
 * for any other array or a block already released.
 */
export function releaseFreeable(array: Float32Array): boolean {
  const held = freeables.get(array);
  if (!held || held.released) return false;
  held.released = true;
  collected.unregister(held);
  release(held.arena, held.at, held.bytes);
  return true;
}

interface Freeable {
  arena: Arena;
  at: number;
  bytes: number;
  /** Arrays of the block not yet collected. */
  live: number;
  released: boolean;
}

const freeables = new WeakMap<Float32Array, Freeable>();

/** Returns a freeable block to its arena once the last of its arrays is collected. */
const collected = new FinalizationRegistry<Freeable>((held) => {
  if (--held.live === 0 && !held.released) {
    held.released = true;
    release(held.arena, held.at, held.bytes);
  }
});

/** Bytes in arenas' free lists and bump regions still unused (what the tests check freeing by). */
export function arenaFreeBytes(): number {
  return arenas.reduce((n, a) => n + ARENA_BYTES - a.used + a.free.reduce((m, r) => m + r.bytes, 0), 0);
}

function align(bytes: number): number {
  return Math.ceil(bytes / HEADER_BYTES) * HEADER_BYTES;
}

/**
 * `bytes` (rounded up to 64) in some arena: the first free range that holds them, else the bump
 * region of an arena with room, else a new arena. Undefined when no arena can hold them. `zero`:
 * the bytes were never handed out before, so they are still zero.
 */
function take(wanted: number): { arena: Arena; at: number; bytes: number; zero: boolean } | undefined {
  const bytes = align(wanted);
  if (bytes > ARENA_BYTES - FIRST_WEIGHT || !arenasSupported()) return undefined;
  for (const arena of arenas) {
    const i = arena.free.findIndex((r) => r.bytes >= bytes);
    if (i < 0) continue;
    const range = arena.free[i];
    const at = range.at;
    range.at += bytes;
    range.bytes -= bytes;
    if (range.bytes === 0) arena.free.splice(i, 1);
    return { arena, at, bytes, zero: false };
  }
  let arena = arenas.find((a) => ARENA_BYTES - a.used >= bytes);
  if (!arena) {
    const memory = new (webAssembly as unknown as SharedMemoryApi).Memory({ initial: ARENA_BYTES / PAGE, maximum: ARENA_BYTES / PAGE, shared: true });
    const id = nextId++;
    new Uint32Array(memory.buffer, 0, 1)[0] = id;
    arena = { id, memory, buffer: memory.buffer, used: FIRST_WEIGHT, touched: FIRST_WEIGHT, free: [] };
    arenas.push(arena);
  }
  const at = arena.used;
  arena.used += bytes;
  const zero = at >= arena.touched;
  arena.touched = Math.max(arena.touched, arena.used);
  return { arena, at, bytes, zero };
}

/** Puts [at, at + bytes) back: merged with free neighbours, or into the bump region at its end. */
function release(arena: Arena, at: number, bytes: number): void {
  const free = arena.free;
  let i = free.findIndex((r) => r.at > at);
  if (i < 0) i = free.length;
  free.splice(i, 0, { at, bytes });
  // Merge with the next range, then with the previous one.
  if (i + 1 < free.length && at + bytes === free[i + 1].at) free.splice(i, 2, { at, bytes: bytes + free[i + 1].bytes });
  if (i > 0 && free[i - 1].at + free[i - 1].bytes === free[i].at) free.splice(i - 1, 2, { at: free[i - 1].at, bytes: free[i - 1].bytes + free[i].bytes });
  // A range that reaches the bump region's end gives its bytes back to it.
  const last = free[free.length - 1];
  if (last && last.at + last.bytes === arena.used) {
    arena.used = last.at;
    free.pop();
  }
}

/**
 * Storage for a weight that is loaded once (a checkpoint's tensors): in an arena when it is at least
 * ARENA_MIN_BYTES and arenas are supported, otherwise a shared buffer of its own. Zeroed either way.
 */
export function allocateWeight(dtype: DType, length: number): Storage {
  const large = length * bytesPerElement(dtype) >= ARENA_MIN_BYTES;
  return (large && placeWeight(dtype, length)) || allocate(dtype, length, true);
}

/** The arena that holds `data`, on the thread that made it (its handle is what parts carry). */
export function arenaOf(data: ArrayBufferView): ArenaHandle | undefined {
  if (arenas.length === 0 || !isShared(data.buffer)) return undefined;
  const arena = arenas.find((a) => a.buffer === data.buffer);
  return arena && { id: arena.id, memory: arena.memory };
}

/** Byte offset of slot `part`'s x rows in an arena (its outputs start SLOT_X_BYTES later). */
export function slotAt(part: number): number {
  return HEADER_BYTES + part * SLOT_BYTES;
}

type KernelFn = (...args: number[]) => void;

let compiledShared: WasmModule | null | undefined;
/** This thread's kernel instances, by arena id. */
const instances = new Map<number, Record<string, KernelFn>>();

function sharedModule(): WasmModule | null {
  if (compiledShared === undefined) {
    // Only the dot and attention kernels run in arenas: the GEMM in this module is never called, so no FMA probe.
    const bytes = webAssembly ? kernelModule(false, 'shared') : undefined;
    compiledShared = bytes && webAssembly?.validate(bytes) ? new webAssembly.Module(bytes) : null;
  }
  return compiledShared;
}

/** This thread's kernels over `arena`'s memory (instantiated on first use). */
export function arenaKernels(arena: ArenaHandle): Record<string, KernelFn> {
  let fns = instances.get(arena.id);
  if (!fns) {
    const module = sharedModule();
    if (!module || !webAssembly) throw new Error('wasm arenas: this engine does not support WebAssembly SIMD');
    fns = new webAssembly.Instance(module, { env: { memory: arena.memory } }).exports as Record<string, KernelFn>;
    instances.set(arena.id, fns);
  }
  return fns;
}

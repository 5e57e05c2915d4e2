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
 *   [FIRST_WEIGHT, ARENA_BYTES) weights, 64-byte aligned, never freed
 *
 * Arena memory is held until the process ends (no free list): only weights loaded once per process
 * belong here (`allocateWeight`'s callers: the safetensors loader, the 7B bench), and only large
 * ones (ARENA_MIN_BYTES), so that tests loading small checkpoints many times do not pile up.
 * Nothing here uses Node APIs; without SharedArrayBuffer or SIMD there are no arenas and
 * `placeWeight` returns undefined.
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
/** Tensors smaller than this stay on buffers of their own (they fit in cache; arenas never free). */
export const ARENA_MIN_BYTES = 4 * 1024 * 1024;

interface Arena extends ArenaHandle {
  buffer: ArrayBufferLike;
  used: number;
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
  const bytes = length * bytesPerElement(dtype);
  if (bytes > ARENA_BYTES - FIRST_WEIGHT || !arenasSupported()) return undefined;
  let arena = arenas.find((a) => ARENA_BYTES - a.used >= bytes);
  if (!arena) {
    const memory = new (webAssembly as unknown as SharedMemoryApi).Memory({ initial: ARENA_BYTES / PAGE, maximum: ARENA_BYTES / PAGE, shared: true });
    const id = nextId++;
    new Uint32Array(memory.buffer, 0, 1)[0] = id;
    arena = { id, memory, buffer: memory.buffer, used: FIRST_WEIGHT };
    arenas.push(arena);
  }
  const at = arena.used;
  arena.used = Math.ceil((at + bytes) / HEADER_BYTES) * HEADER_BYTES;
  return storageView(dtype, arena.buffer, at, length) as Float32Array | Uint16Array;
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
    // Only the dot kernels run in arenas: the GEMM in this module is never called, so no FMA probe.
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

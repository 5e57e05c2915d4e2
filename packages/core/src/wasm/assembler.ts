/**
 * A small WebAssembly assembler: just enough of the binary format to write SIMD kernels as
 * TypeScript functions that emit them, so the project needs no C, no compiler toolchain and no
 * committed `.wasm` file (the idea of bwasti's wasmblr, also used by jax-js's wasm backend).
 *
 * A module here is one memory (exported as `memory`) and a list of functions, each exported under
 * its name. A function body is emitted through `Fn`, whose methods are named after the instructions
 * they append (`f32x4Mul` appends `f32x4.mul`); operands come from the stack as in the text format,
 * so a kernel reads like its `.wat` would. Structured control flow (`block`, `loop`, `if`) takes a
 * callback for its body, which keeps the nesting visible in the TypeScript source.
 *
 * Binary format reference: the WebAssembly core specification 2.0 (sections 5.x) and the
 * fixed-width SIMD proposal (opcodes after the 0xfd prefix); relaxed SIMD for `f32x4.relaxed_madd`.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128: 7 bits per byte, low bits first, high bit set on every byte but the last. */
export function uleb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`uleb: expected a non-negative integer, got ${value}`);
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** Signed LEB128 (two's complement), as `i32.const` takes its immediate. */
export function sleb(value: number): number[] {
  if (!Number.isInteger(value)) throw new RangeError(`sleb: expected an integer, got ${value}`);
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value = Math.floor(value / 128); // arithmetic shift that also works past 32 bits
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(name: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(name));
  return [...uleb(bytes.length), ...bytes];
}

/** A vector in the binary format: its length, then its items. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A function body under construction. Parameters are locals 0..n-1; `local()` adds more. */
export class Fn {
  readonly code: number[] = [];
  private readonly extra: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: ValType[],
    readonly results: ValType[] = [],
  ) {}

  /** Declares a new local of `type` and returns its index. */
  local(type: ValType): number {
    this.extra.push(type);
    return this.params.length + this.extra.length - 1;
  }

  /** The body as the code section stores it: local declarations, instructions, `end`. */
  body(): number[] {
    const groups: number[][] = [];
    for (const t of this.extra) {
      const last = groups[groups.length - 1];
      if (last && last[1] === VALTYPE[t]) last[0]++;
      else groups.push([1, VALTYPE[t]]);
    }
    const locals = vec(groups.map(([count, type]) => [...uleb(count), type]));
    const bytes = [...locals, ...this.code, 0x0b];
    return [...uleb(bytes.length), ...bytes];
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(opcode: number, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...immediates);
  }

  /** Memory immediate: alignment as log2 of bytes, then a constant byte offset. */
  private memarg(alignLog2: number, offset: number): number[] {
    return [...uleb(alignLog2), ...uleb(offset)];
  }

  // Control. Block types are empty: kernels keep values in locals across blocks.
  /** `block ... end`; `br 0` inside jumps past the end. */
  block(body: () => void): this {
    this.op(0x02, 0x40);
    body();
    return this.op(0x0b);
  }
  /** `loop ... end`; `br 0` inside jumps back to the start. */
  loop(body: () => void): this {
    this.op(0x03, 0x40);
    body();
    return this.op(0x0b);
  }
  /** `if ... else ... end` on the i32 on the stack. */
  if(then: () => void, otherwise?: () => void): this {
    this.op(0x04, 0x40);
    then();
    if (otherwise) {
      this.op(0x05);
      otherwise();
    }
    return this.op(0x0b);
  }
  br(depth: number): this { return this.op(0x0c, ...uleb(depth)); }
  brIf(depth: number): this { return this.op(0x0d, ...uleb(depth)); }
  return(): this { return this.op(0x0f); }

  // Locals.
  localGet(i: number): this { return this.op(0x20, ...uleb(i)); }
  localSet(i: number): this { return this.op(0x21, ...uleb(i)); }
  localTee(i: number): this { return this.op(0x22, ...uleb(i)); }

  // Scalar memory (offset in bytes is added to the address on the stack).
  i32Load(offset = 0): this { return this.op(0x28, ...this.memarg(2, offset)); }
  f32Load(offset = 0): this { return this.op(0x2a, ...this.memarg(2, offset)); }
  f32Store(offset = 0): this { return this.op(0x38, ...this.memarg(2, offset)); }
  i32Store(offset = 0): this { return this.op(0x36, ...this.memarg(2, offset)); }

  // Scalar arithmetic.
  i32Const(v: number): this { return this.op(0x41, ...sleb(v | 0)); }
  f32Const(v: number): this {
    const bytes = new Uint8Array(new Float32Array([v]).buffer);
    return this.op(0x43, ...bytes);
  }
  i32Eqz(): this { return this.op(0x45); }
  i32LtS(): this { return this.op(0x48); }
  i32LtU(): this { return this.op(0x49); }
  i32GeU(): this { return this.op(0x4f); }
  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32Shl(): this { return this.op(0x74); }
  i32ShrU(): this { return this.op(0x76); }
  f32Add(): this { return this.op(0x92); }
  f32Mul(): this { return this.op(0x94); }

  // SIMD memory.
  v128Load(offset = 0): this { return this.simd(0x00, ...this.memarg(4, offset)); }
  /** Four u16 from memory, each zero-extended to an i32 lane. */
  v128Load16x4U(offset = 0): this { return this.simd(0x04, ...this.memarg(3, offset)); }
  /** One f32 from memory, copied into all four lanes (the broadcast of A in the GEMM). */
  v128Load32Splat(offset = 0): this { return this.simd(0x09, ...this.memarg(2, offset)); }
  v128Store(offset = 0): this { return this.simd(0x0b, ...this.memarg(4, offset)); }

  // SIMD constants, lanes and shuffles.
  i32x4Const(lane: number): this {
    const bytes = new Uint8Array(new Int32Array([lane, lane, lane, lane]).buffer);
    return this.simd(0x0c, ...bytes);
  }
  /** Four different i32 lanes, lane 0 first. */
  i32x4ConstLanes(lanes: [number, number, number, number]): this {
    const bytes = new Uint8Array(new Int32Array(lanes).buffer);
    return this.simd(0x0c, ...bytes);
  }
  f32x4Const(lane: number): this {
    const bytes = new Uint8Array(new Float32Array([lane, lane, lane, lane]).buffer);
    return this.simd(0x0c, ...bytes);
  }
  /** Picks 4 f32 lanes from two vectors: lanes 0-3 are the first's, 4-7 the second's. */
  f32x4Shuffle(lanes: [number, number, number, number]): this {
    return this.simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  }
  /** Picks 16 bytes from two vectors: bytes 0-15 are the first's, 16-31 the second's. */
  i8x16Shuffle(bytes: number[]): this {
    if (bytes.length !== 16 || bytes.some((b) => b < 0 || b > 31)) throw new RangeError(`i8x16Shuffle: 16 lane indices in 0..31, got [${bytes}]`);
    return this.simd(0x0d, ...bytes);
  }
  f32x4ExtractLane(lane: number): this { return this.simd(0x1f, lane); }

  // SIMD bitwise and integer ops.
  v128And(): this { return this.simd(0x4e); }
  v128Or(): this { return this.simd(0x50); }
  v128Bitselect(): this { return this.simd(0x52); }
  /** The i32 on the stack in all four lanes. */
  i32x4Splat(): this { return this.simd(0x11); }
  i32x4LtS(): this { return this.simd(0x39); }
  i32x4GtS(): this { return this.simd(0x3b); }
  i32x4Shl(): this { return this.simd(0xab); }
  i32x4ShrS(): this { return this.simd(0xac); }
  i32x4ShrU(): this { return this.simd(0xad); }
  i32x4MaxU(): this { return this.simd(0xb9); }
  i32x4Add(): this { return this.simd(0xae); }
  /** Each f32 lane to the i32 toward zero, saturating (NaN to 0). */
  i32x4TruncSatF32x4S(): this { return this.simd(0xf8); }

  // SIMD float ops.
  /** The f32 on the stack in all four lanes. */
  f32x4Splat(): this { return this.simd(0x13); }
  /** Each lane rounded to the nearest integer, ties to even. */
  f32x4Nearest(): this { return this.simd(0x6a); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Mul(): this { return this.simd(0xe6); }
  /** Lane-wise min and max; a NaN lane gives NaN. */
  f32x4Min(): this { return this.simd(0xe8); }
  f32x4Max(): this { return this.simd(0xe9); }
  /** Relaxed SIMD: a * b + c, fused or not as the hardware does it. Stack: a, b, c. */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }
}

/**
 * Where a module's memory comes from: its own (`pages` 64-KiB pages to start, growable), or
 * `'shared'`: imported as `env.memory`, a shared memory of at most 4 GiB made by the caller, so
 * that instances on several threads work on the same bytes (tensors placed there: wasm/arena.ts).
 */
export type MemorySource = { pages: number } | 'shared';

/** A module with one memory, exported as `memory`, and each function exported by name. */
export function assemble(functions: Fn[], memory: MemorySource = { pages: 1 }): Uint8Array {
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const types = functions.map((f) => [0x60, ...vec(f.params.map((t) => [VALTYPE[t]])), ...vec(f.results.map((t) => [VALTYPE[t]]))]);
  const exportsList = [
    [...utf8('memory'), 0x02, 0x00],
    ...functions.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]),
  ];
  const memorySections =
    memory === 'shared'
      ? section(2, vec([[...utf8('env'), ...utf8('memory'), 0x02, 0x03, ...uleb(0), ...uleb(MAX_PAGES)]])) // import: shared, min 0, max 4 GiB
      : section(5, vec([[0x00, ...uleb(memory.pages)]])); // memory 0: min pages, no max
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec(types)), // one type per function, index = function index
    ...(memory === 'shared' ? memorySections : []), // imports come before functions
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...(memory === 'shared' ? [] : memorySections),
    ...section(7, vec(exportsList)),
    ...section(10, vec(functions.map((f) => f.body()))),
  ]);
}

/** 32-bit addresses reach 4 GiB: 65,536 pages of 64 KiB. */
export const MAX_PAGES = 65536;

/** Pushes the f32 sum of the four lanes of v128 local `a` ((a0 + a1) + (a2 + a3)): the dot and attention kernels' row sums. */
export function emitLaneSum(f: Fn, a: number): void {
  f.localGet(a).f32x4ExtractLane(0).localGet(a).f32x4ExtractLane(1).f32Add();
  f.localGet(a).f32x4ExtractLane(2).localGet(a).f32x4ExtractLane(3).f32Add().f32Add();
}

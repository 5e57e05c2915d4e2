import { describe, expect, it } from 'vitest';
import { Fn, assemble, sleb, uleb } from '../src/wasm/assembler.js';
import { webAssembly, type WasmMemory } from '../src/wasm/webassembly.js';

/** Instantiates one assembled function and returns it with the module's memory. */
function build(f: Fn): { run: (...args: number[]) => number; memory: WasmMemory } {
  const exports = new webAssembly!.Instance(new webAssembly!.Module(assemble([f]))).exports;
  return { run: exports[f.name] as (...args: number[]) => number, memory: exports.memory as WasmMemory };
}

describe('LEB128', () => {
  it('encodes 624485 unsigned as e5 8e 26 (7 bits a byte, low first)', () => {
    // 624485 = 0b100110_0001110_1100101: groups 1100101, 0001110, 0100110 -> 0xe5, 0x8e, 0x26
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
  });

  it('encodes 0 and 127 in one byte and 128 in two', () => {
    expect(uleb(0)).toEqual([0x00]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
  });

  it('encodes -123456 signed as c0 bb 78 (two\'s complement, sign in bit 6 of the last byte)', () => {
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('needs a second byte for 64 and -65 signed (bit 6 would read as the sign)', () => {
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
  });

  it('refuses a negative or fractional unsigned value', () => {
    expect(() => uleb(-1)).toThrow('uleb: expected a non-negative integer, got -1');
    expect(() => uleb(1.5)).toThrow('uleb: expected a non-negative integer, got 1.5');
  });
});

describe('assemble', () => {
  it('emits the smallest module byte for byte: header, type, function, memory, export and code sections', () => {
    const f = new Fn('nop', []);
    expect(Array.from(assemble([f]))).toEqual([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: one type, () -> ()
      0x03, 0x02, 0x01, 0x00, // function section: function 0 has type 0
      0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, min 1 page
      0x07, 0x10, 0x02, // export section: 16 bytes, two exports
      0x06, ...Array.from('memory', (ch) => ch.charCodeAt(0)), 0x02, 0x00,
      0x03, 0x6e, 0x6f, 0x70, 0x00, 0x00, // "nop", function 0
      0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code section: one body of 2 bytes: no locals, end
    ]);
  });

  it('runs a scalar function with a loop: the sum 1 + ... + n', () => {
    const f = new Fn('triangle', ['i32'], ['i32']);
    const sum = f.local('i32');
    f.loop(() => {
      f.localGet(sum).localGet(0).i32Add().localSet(sum);
      f.localGet(0).i32Const(1).i32Sub().localTee(0);
      f.brIf(0);
    });
    f.localGet(sum);
    expect(build(f).run(100)).toBe(5050);
  });

  it('runs SIMD: a 4 x 4 transpose by f32x4 shuffles, stored to memory', () => {
    const f = new Fn('transposeRow', ['i32']);
    // Rows [0 1 2 3] and [4 5 6 7] at 0 and 16: lanes 0 and 4 of the pair, then 1 and 5 -> 0 4 1 5.
    f.localGet(0).i32Const(0).v128Load().i32Const(16).v128Load().f32x4Shuffle([0, 4, 1, 5]).v128Store();
    const { run, memory } = build(f);
    const view = new Float32Array(memory.buffer, 0, 12);
    view.set([0, 1, 2, 3, 4, 5, 6, 7]);
    run(32);
    expect(Array.from(view.subarray(8))).toEqual([0, 4, 1, 5]);
  });

  it('encodes f32x4 and i32x4 constants as 16 little-endian bytes', () => {
    const f = new Fn('store', []);
    f.i32Const(0).f32x4Const(1.5).v128Store();
    f.i32Const(16).i32x4Const(-2).v128Store();
    const { run, memory } = build(f);
    run();
    expect(Array.from(new Float32Array(memory.buffer, 0, 4))).toEqual([1.5, 1.5, 1.5, 1.5]);
    expect(Array.from(new Int32Array(memory.buffer, 16, 4))).toEqual([-2, -2, -2, -2]);
  });
});

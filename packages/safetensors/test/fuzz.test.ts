/**
 * A seeded mutation fuzzer of the reader: valid files, mutated thousands of ways (bits flipped,
 * bytes inserted and removed, the length field and header numbers replaced by boundary values,
 * header text spliced), each opened and every tensor read. What may happen to a mutant: it opens
 * and reads, or it is refused with a SafetensorsError. Nothing else: no other error type, no
 * tensor larger than the file that holds it, no mutant that takes long.
 *
 * CI runs ADSC_FUZZ_MUTANTS (default 3000) mutants from seed ADSC_FUZZ_SEED (default 12); a longer
 * run is `ADSC_FUZZ_MUTANTS=100000 ADSC_FUZZ_SEED=7 npx pnpm@10.34.9 exec vitest run
 * packages/safetensors/test/fuzz.test.ts` (ADSC_FUZZ_REPORT=1 prints how many were read and
 * refused: 779 and 29,221 of 30,000 for seed 7). A failure names the seed, the mutant's index and
 * its bytes (base64), which reproduce it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, arange, mulberry32, tensor } from '@adsc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsError, SafetensorsFile, save } from '../src/index.js';
import { temporaryDirectory, writeFile } from './hand-built.js';

const MUTANTS = positiveEnv('ADSC_FUZZ_MUTANTS', 3000);
const SEED = positiveEnv('ADSC_FUZZ_SEED', 12);
/** A mutant of a few hundred bytes is read in well under a millisecond; this is for GC pauses. */
const MAX_MUTANT_MS = 250;

function positiveEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d{1,9}$/.test(text)) throw new Error(`${name} must be a decimal integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

const scratch = temporaryDirectory();
afterAll(scratch.remove);

/** The valid files every mutant starts from: several dtypes, metadata, an empty tensor. */
function seeds(): Uint8Array[] {
  const tensorsOf: Record<string, Tensor>[] = [
    { w: arange(6).reshape([2, 3]) },
    { a: tensor([1, 2, 3, 4], [2, 2], 'f16'), b: tensor([1, 0, 1], [3], 'bool'), c: arange(4).to('bf16') },
    { empty: tensor([], [0, 3]), x: arange(5).to('i32') },
  ];
  return tensorsOf.map((tensors, i) => {
    const path = join(scratch.dir, `seed-${i}.safetensors`);
    save(path, tensors, i === 1 ? { format: 'pt', note: 'fuzz seed' } : undefined);
    return new Uint8Array(readFileSync(path));
  });
}

/** Numbers at the edges of what the checks compare: 0, 2^32, 2^53, 2^64 and their neighbours. */
const BOUNDARY_NUMBERS = [
  '0', '1', '-1', '7', '8', '255', '4294967295', '4294967296', '9007199254740991', '9007199254740993',
  '18446744073709551615', '18446744073709551616', '1e3', '1.0', '-0', '99999999999999999999999999999', '1e400',
];
const BOUNDARY_LENGTHS = [0n, 1n, 7n, 8n, 100_000_000n, 100_000_001n, (1n << 32n) - 1n, 1n << 53n, (1n << 64n) - 1n];
const HEADER_PIECES = ['"', '{', '}', '[', ']', ',', ':', '\\', '\\u0000', '\\ud800', 'null', '"dtype":"F64"', '"shape":[]', '"__metadata__"', '\u00e9', '\u{1f600}'];

type Random = () => number;

/** One mutation of `bytes`; returns the mutant and what was done, for the failure message. */
function mutate(bytes: Uint8Array, random: Random): { mutant: Uint8Array; how: string } {
  const int = (n: number) => Math.floor(random() * n);
  const at = int(bytes.length + 1);
  const out = Buffer.from(bytes);
  switch (int(8)) {
    case 0: {
      const i = int(bytes.length);
      out[i] ^= 1 << int(8);
      return { mutant: out, how: `flip a bit of byte ${i}` };
    }
    case 1: {
      const i = int(bytes.length);
      out[i] = [0, 0xff, 0x22, 0x7b, 0x5d, 0x30, 0x39, 0x80][int(8)];
      return { mutant: out, how: `set byte ${i}` };
    }
    case 2: {
      const n = 1 + int(16);
      return { mutant: Buffer.concat([out.subarray(0, at), Buffer.alloc(n, int(256)), out.subarray(at)]), how: `insert ${n} bytes at ${at}` };
    }
    case 3: {
      const n = 1 + int(16);
      return { mutant: Buffer.concat([out.subarray(0, at), out.subarray(at + n)]), how: `delete ${n} bytes at ${at}` };
    }
    case 4:
      return { mutant: out.subarray(0, at), how: `truncate to ${at} bytes` };
    case 5: {
      const length = BOUNDARY_LENGTHS[int(BOUNDARY_LENGTHS.length)] + BigInt(int(3)) - 1n;
      if (length >= 0n && length < 1n << 64n && out.length >= 8) out.writeBigUInt64LE(length, 0);
      return { mutant: out, how: `set the header length to ${length}` };
    }
    case 6: {
      // Replace one number of the header text by a boundary number.
      const text = out.toString('latin1');
      const numbers = [...text.matchAll(/\d+/g)].filter((m) => m.index! >= 8);
      if (numbers.length === 0) return { mutant: out, how: 'no number to replace' };
      const m = numbers[int(numbers.length)];
      const value = BOUNDARY_NUMBERS[int(BOUNDARY_NUMBERS.length)];
      const mutant = Buffer.concat([out.subarray(0, m.index!), Buffer.from(value, 'latin1'), out.subarray(m.index! + m[0].length)]);
      return { mutant: fixLength(mutant, bytes, value.length - m[0].length, m.index!), how: `replace ${m[0]} at ${m.index} by ${value}` };
    }
    default: {
      // Splice a JSON piece into the header, keeping the length field consistent.
      if (out.length < 8) return { mutant: out, how: 'too short to splice' };
      const headerEnd = Math.min(bytes.length, 8 + Number(out.readBigUInt64LE(0)));
      const i = 8 + int(Math.max(1, headerEnd - 8));
      const piece = Buffer.from(HEADER_PIECES[int(HEADER_PIECES.length)], 'utf8');
      const mutant = Buffer.concat([out.subarray(0, i), piece, out.subarray(i)]);
      return { mutant: fixLength(mutant, bytes, piece.length, i), how: `insert ${JSON.stringify(piece.toString())} at ${i}` };
    }
  }
}

/** After an edit of `delta` bytes at `at` inside the header, the length field follows it. */
function fixLength(mutant: Buffer, original: Uint8Array, delta: number, at: number): Buffer {
  if (original.length < 8) return mutant;
  const n = Buffer.from(original).readBigUInt64LE(0);
  const length = n + BigInt(delta);
  if (BigInt(at) < 8n + n && mutant.length >= 8 && length >= 0n && length < 1n << 64n) mutant.writeBigUInt64LE(length, 0);
  return mutant;
}

/** Opens the file at `path` (of `size` bytes) and reads every tensor; the checks are in here. */
function readAll(path: string, size: number): 'read' | 'refused' {
  let file: SafetensorsFile;
  try {
    file = SafetensorsFile.open(path);
  } catch (error) {
    if (error instanceof SafetensorsError) return 'refused';
    throw error;
  }
  try {
    for (const name of file.names()) {
      let t: Tensor;
      try {
        t = file.tensor(name);
      } catch (error) {
        if (error instanceof SafetensorsError) continue; // e.g. UnsupportedDType
        throw error;
      }
      const bytes = t.data.byteLength;
      if (bytes > size) throw new Error(`tensor ${name} holds ${bytes} bytes, more than the ${size}-byte file`);
    }
    return 'read';
  } finally {
    file.close();
  }
}

describe(`the reader on ${MUTANTS} mutants (seed ${SEED})`, () => {
  it('opens or refuses each with a SafetensorsError, quickly, never holding more than the file', () => {
    const bases = seeds();
    const random = mulberry32(SEED);
    const path = join(scratch.dir, 'mutant.safetensors');
    const outcomes = { read: 0, refused: 0 };
    let slowest = 0;
    // Off-heap memory (ArrayBuffers: headers, tensor storage) is sampled after every mutant; the
    // mutants are a few hundred bytes, so a buffer sized from a claimed length would show here.
    const baseline = process.memoryUsage().arrayBuffers;
    let peakArrayBuffers = 0;
    for (let i = 0; i < MUTANTS; i++) {
      const base = bases[i % bases.length];
      // One to three stacked mutations.
      let mutant: Uint8Array = base;
      const hows: string[] = [];
      for (let k = 1 + Math.floor(random() * 3); k > 0 && mutant.length > 0; k--) {
        const step = mutate(mutant, random);
        mutant = step.mutant;
        hows.push(step.how);
      }
      writeFile(scratch.dir, 'mutant.safetensors', mutant);
      const t0 = performance.now();
      try {
        outcomes[readAll(path, mutant.length)]++;
      } catch (error) {
        throw new Error(`seed ${SEED}, mutant ${i} (${hows.join('; ')}), base64 ${Buffer.from(mutant).toString('base64')}: ${String(error)}`);
      }
      const ms = performance.now() - t0;
      peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers - baseline);
      slowest = Math.max(slowest, ms);
      if (ms > MAX_MUTANT_MS) throw new Error(`seed ${SEED}, mutant ${i} took ${ms.toFixed(0)} ms (${hows.join('; ')})`);
    }
    if (process.env.ADSC_FUZZ_REPORT) {
      console.log(`fuzz: ${JSON.stringify(outcomes)}, slowest ${slowest.toFixed(1)} ms, ArrayBuffers peak +${(peakArrayBuffers / 2 ** 20).toFixed(1)} MiB`);
    }
    // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
    expect(outcomes.read).toBeGreaterThan(MUTANTS / 100);
    expect(outcomes.refused).toBeGreaterThan(MUTANTS / 2);
    expect(slowest).toBeLessThan(MAX_MUTANT_MS);
    expect(peakArrayBuffers).toBeLessThan(64 * 2 ** 20);
  }, 120_000);
});

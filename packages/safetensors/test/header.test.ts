/**
 * One hand-built malformed file per error code, opened through SafetensorsFile.open, plus what the
 * header parser accepts. Each file is written out byte by byte in the test (see hand-built.ts):
 * 8-byte little-endian header length, header JSON, byte buffer.
 */
import { spawnSync } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile, parseHeader } from '../src/index.js';
import { errorOf, fileBytes, temporaryDirectory, writeFile } from './hand-built.js';

const scratch = temporaryDirectory();
afterAll(scratch.remove);

/** Writes the bytes to a file and returns the error opening it throws. */
function openError(name: string, bytes: Uint8Array) {
  const path = writeFile(scratch.dir, `${name}.safetensors`, bytes);
  const error = errorOf(() => SafetensorsFile.open(path));
  expect(error.message).toContain(path);
  return error;
}

/** A well-formed entry: F32 [count] at [begin, begin + 4 * count). */
function f32(count: number, begin: number): string {
  return `{"dtype":"F32","shape":[${count}],"data_offsets":[${begin},${begin + 4 * count}]}`;
}

describe('the length field (checks 1-3)', () => {
  it('refuses a file of 7 bytes as HeaderTooSmall', () => {
    // The u64 header length alone needs 8 bytes.
    expect(openError('seven-bytes', Uint8Array.from([2, 0, 0, 0, 0, 0, 0])).code).toBe('HeaderTooSmall');
  });

  it('refuses a header length of 100,000,001 as HeaderTooLarge', () => {
    // The limit is 100,000,000; the check comes before the file-size check, so a tiny file suffices.
    expect(openError('too-large', fileBytes('{}', 0, 100_000_001n)).code).toBe('HeaderTooLarge');
  });

  it('refuses a header length near 2^64 as HeaderTooLarge', () => {
    expect(openError('near-2-64', fileBytes('{}', 0, (1n << 64n) - 1n)).code).toBe('HeaderTooLarge');
  });

  it('refuses a header length that runs past the end of the file as InvalidHeaderLength', () => {
    // Says 100 header bytes, holds 2.
    expect(openError('past-end', fileBytes('{}', 0, 100n)).code).toBe('InvalidHeaderLength');
  });
});

describe('the header text (checks 4-5)', () => {
  it('refuses header bytes that are not UTF-8 as InvalidHeader', () => {
    // { 0xff }: the byte 0xff never occurs in UTF-8.
    expect(openError('not-utf8', fileBytes([0x7b, 0xff, 0x7d])).code).toBe('InvalidHeader');
  });

  it('refuses a byte-order mark before the JSON as InvalidHeaderDeserialization', () => {
    // EF BB BF is valid UTF-8 (U+FEFF) but not JSON whitespace.
    expect(openError('bom', fileBytes([0xef, 0xbb, 0xbf, 0x7b, 0x7d])).code).toBe('InvalidHeaderDeserialization');
  });

  const malformed: Array<{ why: string; says: string; header: string; data: number }> = [
    { why: 'is cut off mid-object', says: 'unexpected end of input', header: '{"a":', data: 0 },
    { why: 'is a JSON array, not an object', says: 'must be a JSON object', header: '[]', data: 0 },
    { why: 'has characters after the object', says: 'trailing characters', header: '{} x', data: 0 },
    { why: 'has a trailing comma', says: 'expected a string key', header: `{"a":${f32(1, 0)},}`, data: 4 },
    { why: 'names an unknown dtype', says: 'unknown dtype "F7"', header: '{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}', data: 1 },
    { why: 'gives the dtype in lower case', says: 'unknown dtype "f32"', header: '{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', data: 4 },
    { why: 'gives the shape as a string', says: '"shape" must be an array', header: '{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}', data: 4 },
    { why: 'has a negative shape entry', says: 'the integer -1', header: '{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', data: 4 },
    { why: 'has a fractional shape entry', says: 'a float literal (1.5)', header: '{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', data: 4 },
    // 1.0 and 1e0 equal 1, but the reference deserializes only integer literals into a usize.
    { why: 'writes a shape entry as 1.0', says: 'a float literal (1)', header: '{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', data: 4 },
    { why: 'writes a data offset as 4e0', says: 'a float literal (4)', header: '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}', data: 4 },
    { why: 'has a shape entry of 2^64, above the u64 range', says: '18446744073709551616', header: '{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,0]}}', data: 0 },
    { why: 'has a non-string metadata value', says: 'value of "step" must be a string', header: `{"__metadata__":{"step":1},"a":${f32(1, 0)}}`, data: 4 },
    { why: 'has metadata that is not an object', says: '"__metadata__" must be an object', header: `{"__metadata__":"pt","a":${f32(1, 0)}}`, data: 4 },
    { why: 'has two __metadata__ keys', says: 'appears twice', header: '{"__metadata__":{},"__metadata__":{}}', data: 0 },
    { why: 'misses data_offsets', says: 'missing field "data_offsets"', header: '{"a":{"dtype":"F32","shape":[1]}}', data: 4 },
    { why: 'misses dtype', says: 'missing field "dtype"', header: '{"a":{"shape":[1],"data_offsets":[0,4]}}', data: 4 },
    { why: 'has a single data offset', says: 'array of two', header: '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}', data: 4 },
    { why: 'repeats a field inside an entry', says: 'duplicate field "dtype"', header: '{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', data: 4 },
    // serde would accept this form of a struct; this reader takes only the documented object form.
    { why: 'writes an entry as an array', says: 'must be an object', header: '{"a":["F32",[1],[0,4]]}', data: 4 },
    { why: 'escapes an unpaired surrogate in a name', says: 'unpaired high surrogate', header: `{"\\ud800":${f32(1, 0)}}`, data: 4 },
  ];

  it.each(malformed)('refuses a header that $why as InvalidHeaderDeserialization', ({ why, says, header, data }) => {
    const error = openError(why.replaceAll(/\W+/g, '-'), fileBytes(header, data));
    expect(error.code).toBe('InvalidHeaderDeserialization');
    expect(error.message).toContain(says);
  });

  it('names the entry at fault in an InvalidHeaderDeserialization message', () => {
    const error = openError('bad-dtype-named', fileBytes('{"layer.0.weight":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}', 1));
    expect(error.tensor).toBe('layer.0.weight');
    expect(error.message).toContain('"layer.0.weight"');
    expect(error.message).toContain('F7');
  });

  it('refuses two entries named "a" and "\\u0061" as DuplicateTensorName', () => {
    // JSON.parse would keep the second silently; both keys decode to "a".
    const error = openError('duplicate', fileBytes(`{"a":${f32(1, 0)},"\\u0061":${f32(1, 4)}}`, 8));
    expect(error.code).toBe('DuplicateTensorName');
    expect(error.tensor).toBe('a');
  });

  it('tells an escaped backslash or quote in a name from a duplicate', () => {
    // Keys: a\  (escaped backslash), a"  (escaped quote), a  : three different names.
    const header = parseHeader(fileBytes(`{"a\\\\":${f32(1, 0)},"a\\"":${f32(1, 4)},"a":${f32(1, 8)}}`, 12));
    expect(header.tensors.map((t) => t.name)).toEqual(['a\\', 'a"', 'a']);
  });
});

describe('offsets and sizes (checks 6-7)', () => {
  it('refuses a first tensor that does not begin at byte 0 as InvalidOffset', () => {
    // Bytes 0-3 belong to no tensor.
    const error = openError('hole', fileBytes('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8));
    expect(error.code).toBe('InvalidOffset');
    expect(error.tensor).toBe('a');
  });

  it('refuses overlapping tensors as InvalidOffset, naming the later one', () => {
    // a covers [0, 8); b claims [4, 8), but the next tensor must begin at 8.
    const error = openError('overlap', fileBytes(`{"a":${f32(2, 0)},"b":${f32(1, 4)}}`, 8));
    expect(error.code).toBe('InvalidOffset');
    expect(error.tensor).toBe('b');
  });

  it('refuses an end offset before the begin offset as InvalidOffset', () => {
    // a covers [0, 4); c begins where it should, at 4, but ends at 2.
    const error = openError('backwards', fileBytes('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"c":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}}', 4));
    expect([error.code, error.tensor]).toEqual(['InvalidOffset', 'c']);
  });

  it('refuses an element count of 2^32 * 2^32 = 2^64 as ValidationOverflow', () => {
    const error = openError('count-overflow', fileBytes('{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}'));
    expect(error.code).toBe('ValidationOverflow');
    expect(error.tensor).toBe('a');
  });

  it('refuses 2^62 F32 elements (2^67 bits) as ValidationOverflow', () => {
    // The count 2^62 fits in 64 bits; the bit count 2^62 * 32 does not.
    expect(openError('bits-overflow', fileBytes('{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}')).code)
      .toBe('ValidationOverflow');
  });

  it('refuses three F4 elements (12 bits) as MisalignedSlice', () => {
    expect(openError('f4-odd', fileBytes('{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', 2)).code).toBe('MisalignedSlice');
  });

  it('refuses an F32 [2] tensor given 4 bytes as TensorInvalidInfo', () => {
    // Two f32 need 8 bytes.
    const error = openError('short-tensor', fileBytes('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4));
    expect(error.code).toBe('TensorInvalidInfo');
    expect(error.tensor).toBe('w');
  });

  it('refuses 2 stray bytes after the last tensor as MetadataIncompleteBuffer', () => {
    expect(openError('extra-bytes', fileBytes(`{"a":${f32(1, 0)}}`, 6)).code).toBe('MetadataIncompleteBuffer');
  });

  it('refuses a buffer 2 bytes shorter than the tensors as MetadataIncompleteBuffer', () => {
    expect(openError('missing-bytes', fileBytes(`{"a":${f32(1, 0)}}`, 2)).code).toBe('MetadataIncompleteBuffer');
  });

  it('checks tensors in offset order, not header order', () => {
    // Header order c, b, a; offset order a [0,4) fine, b [4,8) too small for F32 [2], c [9,10) a hole.
    // b's TensorInvalidInfo comes before c's InvalidOffset.
    const header = `{"c":{"dtype":"U8","shape":[1],"data_offsets":[9,10]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,8]},"a":${f32(1, 0)}}`;
    const error = openError('order', fileBytes(header, 10));
    expect([error.code, error.tensor]).toEqual(['TensorInvalidInfo', 'b']);
  });

  it('reports a syntax error before a duplicate name', () => {
    expect(openError('syntax-first', fileBytes(`{"a":${f32(1, 0)},"a":${f32(1, 4)}`, 8)).code).toBe('InvalidHeaderDeserialization');
  });
});

describe('what the header parser accepts', () => {
  it('accepts JSON whitespace around the header object and a length that is not a multiple of 8', () => {
    // 3 + 2 + 4 = 9 header bytes: no alignment is required of the reader.
    const header = parseHeader(fileBytes(' \n\t{}\r ', 0));
    expect(header.headerLength).toBe(7);
    expect(header.tensors).toEqual([]);
  });

  it('ignores unknown fields in an entry and accepts "__metadata__": null', () => {
    const header = parseHeader(fileBytes('{"__metadata__":null,"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"note":{"x":[1.5]}}}', 2));
    expect(header.metadata).toEqual({});
    expect(header.tensors).toEqual([{ name: 'a', dtype: 'U8', shape: [2], dataOffsets: [0, 2] }]);
  });

  it('returns the metadata and the entries in offset order', () => {
    const header = parseHeader(fileBytes(`{"b":${f32(1, 4)},"__metadata__":{"format":"pt"},"a":${f32(1, 0)}}`, 8));
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.tensors.map((t) => [t.name, t.dataOffsets])).toEqual([['a', [0, 4]], ['b', [4, 8]]]);
  });

  it('accepts a rank-0 tensor and an empty tensor', () => {
    // Rank 0: one element (the empty product). Empty: a 0 in the shape, BEGIN == END.
    const header = parseHeader(fileBytes('{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[3,0],"data_offsets":[8,8]}}', 8));
    expect(header.tensors.map((t) => [t.name, t.shape])).toEqual([['s', []], ['e', [3, 0]]]);
  });

  it('validates the sizes of the sub-byte, 8-bit float and complex dtypes', () => {
    // F4 [4] = 16 bits = 2 bytes; F6_E2M3 [4] = 24 bits = 3 bytes; F8_E5M2 [2] = 2 bytes; C64 [1] = 8 bytes.
    const header = parseHeader(fileBytes(
      '{"f4":{"dtype":"F4","shape":[4],"data_offsets":[0,2]},"f6":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[2,5]},' +
        '"f8":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[5,7]},"c":{"dtype":"C64","shape":[1],"data_offsets":[7,15]}}',
      15,
    ));
    expect(header.tensors.map((t) => t.dtype)).toEqual(['F4', 'F6_E2M3', 'F8_E5M2', 'C64']);
  });

  it('refuses a shape entry above 2^53 - 1 in an empty tensor as ValidationOverflow', () => {
    // [0, 2^60] has no elements, so the reference accepts it; a JS number cannot hold 2^60 + 1.
    expect(errorOf(() => parseHeader(fileBytes('{"a":{"dtype":"U8","shape":[0,1152921504606846977],"data_offsets":[0,0]}}'))).code)
      .toBe('ValidationOverflow');
  });
});

describe('headers built to exhaust the parser', () => {
  it('refuses a 100,000-digit integer in an ignored field as InvalidHeaderDeserialization', () => {
    // serde_json reads an integer past 64 bits as a double; this one overflows it, and is refused.
    const header = `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"note":${'9'.repeat(100_000)}}}`;
    const t0 = performance.now();
    const error = openError('huge-integer', fileBytes(header, 4));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect([error.code, error.message.includes('number out of range')]).toEqual(['InvalidHeaderDeserialization', true]);
  });

  it('reads a 30-digit integer in an ignored field as a double, as serde_json does', () => {
    const header = `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"note":${'9'.repeat(30)}}}`;
    expect(parseHeader(fileBytes(header, 4)).tensors.map((t) => t.name)).toEqual(['a']);
  });

  it('refuses a 30-digit integer where a size belongs, as a float', () => {
    const header = `{"a":{"dtype":"F32","shape":[${'9'.repeat(30)}],"data_offsets":[0,4]}}`;
    expect(openError('long-shape', fileBytes(header, 4)).message).toContain('a float literal (1e+30)');
  });

  it('parses a header of 200,000 entries (13 MB) within a 160 MiB heap', () => {
    // The whole parsed JSON was once held next to the entries: this needed more than 256 MiB.
    const script = new URL('./parse-many-entries.ts', import.meta.url).pathname;
    const root = new URL('../../../', import.meta.url).pathname;
    const r = spawnSync(process.execPath, ['--max-old-space-size=160', '--import', 'tsx', script, '200000'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('200000');
  }, 60_000);
});

describe('reading tensors', () => {
  it('refuses a name the header lacks as TensorNotFound', () => {
    const file = SafetensorsFile.open(writeFile(scratch.dir, 'one.safetensors', fileBytes(`{"a":${f32(1, 0)}}`, 4)));
    const error = errorOf(() => file.tensor('b'));
    file.close();
    expect([error.code, error.tensor]).toEqual(['TensorNotFound', 'b']);
    expect(error.message).toContain('one.safetensors');
  });

  it('validates an F8_E4M3 tensor but refuses to decode it as UnsupportedDType', () => {
    const file = SafetensorsFile.open(writeFile(scratch.dir, 'f8.safetensors', fileBytes('{"q":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}', 2)));
    expect(file.info('q').dtype).toBe('F8_E4M3');
    const error = errorOf(() => file.tensor('q'));
    file.close();
    expect(error.code).toBe('UnsupportedDType');
    expect(error.message).toContain('F8_E4M3');
  });

  it('reports a file that shrank after opening as IoError', () => {
    const bytes = fileBytes(`{"a":${f32(2, 0)}}`, 8);
    const path = writeFile(scratch.dir, 'shrinks.safetensors', bytes);
    const file = SafetensorsFile.open(path);
    truncateSync(path, bytes.length - 6); // 2 of the tensor's 8 bytes are left
    const error = errorOf(() => file.tensor('a'));
    file.close();
    expect([error.code, error.tensor]).toEqual(['IoError', 'a']);
  });

  it('refuses reads after close', () => {
    const file = SafetensorsFile.open(writeFile(scratch.dir, 'closed.safetensors', fileBytes(`{"a":${f32(1, 0)}}`, 4)));
    file.close();
    expect(errorOf(() => file.tensor('a')).code).toBe('IoError');
  });
});

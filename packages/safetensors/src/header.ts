/**
 * Parsing and validating a safetensors header, without touching a file.
 *
 * A safetensors file is: 8 bytes holding N (little-endian u64), N bytes of UTF-8 JSON (the
 * header), then the byte buffer the header's `data_offsets` point into. The checks below are the
 * reference Rust reader's, in its order and under its error names (see errors.ts):
 *
 *   1. fewer than 8 bytes                                   HeaderTooSmall
 *   2. N > 100,000,000                                      HeaderTooLarge
 *   3. 8 + N beyond the end of the file                     InvalidHeaderLength
 *   4. header bytes not UTF-8                               InvalidHeader
 *   5. header not JSON of the expected shape                InvalidHeaderDeserialization
 *      (then, this project's addition: two entries with one name   DuplicateTensorName)
 *   6. entries in offset order; for each:
 *      BEGIN != previous END (from 0), or END < BEGIN       InvalidOffset
 *      element count, or count * bit size, above 2^64 - 1  ValidationOverflow
 *      bit count not a multiple of 8                        MisalignedSlice
 *      END - BEGIN != the tensor's byte size                TensorInvalidInfo
 *   7. last END + 8 + N != file length                      MetadataIncompleteBuffer
 *
 * Offsets and shape entries are validated as exact integers (bigint), as the reference does with
 * u64. What the reference accepts and we also accept: whitespace around the JSON object, unknown
 * fields in an entry (ignored), `"__metadata__": null`, a header length that is not a multiple of 8.
 * Where we are stricter: duplicate tensor names (above); the serde quirks of writing an entry as a
 * [dtype, shape, data_offsets] array or a dtype as {"F32": null} are refused; a shape entry above
 * 2^53 - 1 (possible only in an empty tensor, e.g. [0, 2^60]) is refused with ValidationOverflow
 * because a JS number cannot hold it exactly.
 */
import { dtypeBits, isSafetensorsDType, type SafetensorsDType } from './dtypes.js';
import { SafetensorsError, type SafetensorsErrorCode } from './errors.js';
import { JsonObject, JsonSyntaxError, parseStrictJson, type JsonValue } from './strict-json.js';

/** Bytes before the header: the little-endian u64 N. */
export const HEADER_LENGTH_BYTES = 8;

/** The reference reader's limit on N. */
export const MAX_HEADER_LENGTH = 100_000_000;

/** The key of the optional string -> string map in the header. */
export const METADATA_KEY = '__metadata__';

const U64_MAX = (1n << 64n) - 1n;

/** One header entry. */
export interface TensorInfo {
  readonly name: string;
  /** The safetensors dtype string as stored ('F32', 'BF16', 'F8_E4M3', ...). */
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** [BEGIN, END) in bytes, relative to the start of the byte buffer (file offset 8 + N). */
  readonly dataOffsets: readonly [number, number];
}

export interface SafetensorsHeader {
  /** N: the header's length in bytes; the byte buffer starts at file offset 8 + N. */
  readonly headerLength: number;
  /** The "__metadata__" map ({} when the header has none). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The entries in the order of their data in the file. */
  readonly tensors: readonly TensorInfo[];
}

/**
 * Checks 1-3: N from the first bytes of a file of `fileLength` bytes (`prefix` holds its first 8
 * bytes, or all of them when the file is shorter). `file` names the file in errors.
 */
export function readHeaderLength(prefix: Uint8Array, fileLength: number, file: string): number {
  if (fileLength < HEADER_LENGTH_BYTES || prefix.length < HEADER_LENGTH_BYTES) {
    fail('HeaderTooSmall', file, undefined, `the file has ${fileLength} bytes, fewer than the 8 that hold the header length`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, HEADER_LENGTH_BYTES);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_LENGTH)) {
    fail('HeaderTooLarge', file, undefined, `the header length is ${n} bytes, more than the limit of ${MAX_HEADER_LENGTH}`);
  }
  if (BigInt(HEADER_LENGTH_BYTES) + n > BigInt(fileLength)) {
    fail('InvalidHeaderLength', file, undefined, `the header length is ${n} bytes but the file has only ${fileLength - HEADER_LENGTH_BYTES} after the length`);
  }
  return Number(n);
}

/**
 * Checks 4-7 on the N header bytes (`json`) of a file of `fileLength` bytes, whose header length
 * readHeaderLength has already checked.
 */
export function decodeHeader(json: Uint8Array, fileLength: number, file: string): SafetensorsHeader {
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, where the JSON grammar then refuses it.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(json);
  } catch {
    return fail('InvalidHeader', file, undefined, 'the header is not valid UTF-8');
  }
  // Entries are interpreted as the parser reaches them, so the parsed JSON of a huge header is
  // never held all at once (only the compact entries are).
  const header = new HeaderEntries(file);
  let root: JsonValue;
  try {
    root = parseStrictJson(text, (key, value) => header.add(key, value));
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return fail('InvalidHeaderDeserialization', file, undefined, `the header is not JSON: ${error.message}`);
  }
  if (!(root instanceof JsonObject)) {
    fail('InvalidHeaderDeserialization', file, undefined, `the header must be a JSON object, not ${describe(root)}`);
  }
  const { entries } = header;
  const metadata = header.metadata ?? {};
  refuseDuplicateNames(entries, file);
  const bufferLength = validateOffsets(entries, file);
  const headerLength = json.length;
  if (bufferLength + BigInt(HEADER_LENGTH_BYTES + headerLength) !== BigInt(fileLength)) {
    fail(
      'MetadataIncompleteBuffer', file, undefined,
      `the tensors cover ${bufferLength} bytes after the ${HEADER_LENGTH_BYTES + headerLength}-byte header, ` +
        `but the file holds ${fileLength - HEADER_LENGTH_BYTES - headerLength}`,
    );
  }
  // In place, so that each raw entry can be collected as soon as its TensorInfo exists.
  const tensors = entries as unknown as TensorInfo[];
  for (let i = 0; i < entries.length; i++) tensors[i] = toTensorInfo(entries[i], file);
  return { headerLength, metadata, tensors };
}

/** Checks 1-7 on the bytes of a whole file held in memory. */
export function parseHeader(bytes: Uint8Array, file = '<bytes>'): SafetensorsHeader {
  const n = readHeaderLength(bytes, bytes.length, file);
  return decodeHeader(bytes.subarray(HEADER_LENGTH_BYTES, HEADER_LENGTH_BYTES + n), bytes.length, file);
}

// -- step 5: the expected shape of the JSON ------------------------------------------------------

/** An entry as written, with exact integers; sorted by offsets later. */
interface RawEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: bigint[];
  begin: bigint;
  end: bigint;
}

/** The header's members, interpreted one at a time as the parser hands them over. */
class HeaderEntries {
  readonly entries: RawEntry[] = [];
  metadata: Record<string, string> | undefined;

  constructor(private readonly file: string) {}

  add(key: string, value: JsonValue): void {
    if (key !== METADATA_KEY) {
      this.entries.push(interpretEntry(key, value, this.file));
      return;
    }
    if (this.metadata !== undefined) fail('InvalidHeaderDeserialization', this.file, undefined, `"${METADATA_KEY}" appears twice`);
    this.metadata = interpretMetadata(value, this.file);
  }
}

/** A string -> string map, or null for none. Of two equal keys the last wins, as in the reference. */
function interpretMetadata(value: JsonValue, file: string): Record<string, string> {
  if (value === null) return {};
  if (!(value instanceof JsonObject)) {
    fail('InvalidHeaderDeserialization', file, undefined, `"${METADATA_KEY}" must be an object of strings, not ${describe(value)}`);
  }
  for (const [key, item] of value.entries) {
    if (typeof item !== 'string') {
      fail('InvalidHeaderDeserialization', file, undefined, `"${METADATA_KEY}" value of ${JSON.stringify(key)} must be a string, not ${describe(item)}`);
    }
  }
  return Object.fromEntries(value.entries as Array<[string, string]>);
}

function interpretEntry(name: string, value: JsonValue, file: string): RawEntry {
  const bad = (detail: string): never => fail('InvalidHeaderDeserialization', file, name, detail);
  if (!(value instanceof JsonObject)) return bad(`the entry must be an object, not ${describe(value)}`);
  const fields = new Map<string, JsonValue>();
  for (const [key, item] of value.entries) {
    if (fields.has(key)) bad(`duplicate field "${key}"`);
    fields.set(key, item); // fields other than the three below are ignored, as in the reference
  }
  const dtype = fields.get('dtype');
  const shape = fields.get('shape');
  const offsets = fields.get('data_offsets');
  if (dtype === undefined) bad('missing field "dtype"');
  if (shape === undefined) bad('missing field "shape"');
  if (offsets === undefined) bad('missing field "data_offsets"');
  if (typeof dtype !== 'string') return bad(`"dtype" must be a string, not ${describe(dtype)}`);
  if (!isSafetensorsDType(dtype)) return bad(`unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape)) return bad(`"shape" must be an array of non-negative integers, not ${describe(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    return bad(`"data_offsets" must be an array of two non-negative integers, not ${describe(offsets)}`);
  }
  const dims = shape.map((d) => (isUsize(d) ? d : bad(`"shape" entries must be non-negative integers; found ${describe(d)}`)));
  const [begin, end] = offsets.map((o) => (isUsize(o) ? o : bad(`"data_offsets" must be non-negative integers; found ${describe(o)}`)));
  return { name, dtype, shape: dims, begin, end };
}

/** What the reference deserializes into a usize: an integer literal in 0 ..= 2^64 - 1. */
function isUsize(value: JsonValue): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
}

function describe(value: JsonValue | undefined): string {
  if (value === null) return 'null';
  if (value instanceof JsonObject) return 'an object';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'bigint') return `the integer ${value}`;
  if (typeof value === 'number') return `a float literal (${Object.is(value, -0) ? '-0' : value})`;
  return String(value);
}

function refuseDuplicateNames(entries: readonly RawEntry[], file: string): void {
  const seen = new Set<string>();
  for (const { name } of entries) {
    if (seen.has(name)) fail('DuplicateTensorName', file, name, 'two header entries have this name');
    seen.add(name);
  }
}

// -- step 6: offsets and sizes -------------------------------------------------------------------

/** Checks that the entries tile the byte buffer exactly; returns the buffer's length. */
function validateOffsets(entries: RawEntry[], file: string): bigint {
  // Sorted by (BEGIN, END), as the reference does; the sort is stable, so ties keep header order.
  entries.sort((a, b) => compare(a.begin, b.begin) || compare(a.end, b.end));
  let start = 0n;
  for (const entry of entries) {
    const { name, dtype, shape, begin, end } = entry;
    if (begin !== start) {
      fail('InvalidOffset', file, name, `data_offsets [${begin}, ${end}] should begin at byte ${start}, where the previous tensor ends`);
    }
    if (end < begin) fail('InvalidOffset', file, name, `data_offsets [${begin}, ${end}] end before they begin`);
    start = end;
    let count = 1n;
    for (const d of shape) {
      count *= d;
      if (count > U64_MAX) fail('ValidationOverflow', file, name, `the element count of shape [${shape.join(', ')}] overflows 64 bits`);
    }
    const bits = count * BigInt(dtypeBits(dtype));
    if (bits > U64_MAX) fail('ValidationOverflow', file, name, `the bit size of ${dtype} [${shape.join(', ')}] overflows 64 bits`);
    if (bits % 8n !== 0n) {
      fail('MisalignedSlice', file, name, `${dtype} [${shape.join(', ')}] takes ${bits} bits, not a whole number of bytes`);
    }
    if (end - begin !== bits / 8n) {
      fail('TensorInvalidInfo', file, name, `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${bits / 8n}`);
    }
  }
  return start;
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toTensorInfo(entry: RawEntry, file: string): TensorInfo {
  const shape = entry.shape.map((d) => {
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) {
      fail('ValidationOverflow', file, entry.name, `shape entry ${d} is above 2^53 - 1, the largest integer this reader holds exactly`);
    }
    return Number(d);
  });
  // After check 7 every offset is at most the file length, which is a safe integer.
  return { name: entry.name, dtype: entry.dtype, shape, dataOffsets: [Number(entry.begin), Number(entry.end)] };
}

function fail(code: SafetensorsErrorCode, file: string, tensor: string | undefined, detail: string): never {
  throw new SafetensorsError(code, tensor === undefined ? { file } : { file, tensor }, detail);
}

/**
 * Writing safetensors files and sharded checkpoints.
 *
 * The layout follows the reference writer: entries sorted by element size descending, then by
 * name (compared as UTF-8 bytes); "__metadata__" first when given; the header JSON compact and
 * padded with spaces to a multiple of 8 bytes, so the byte buffer starts 8-aligned; each tensor's
 * bytes row-major (a strided view is written in the order of its logical elements).
 *
 * Nothing is left half-written: each file is written to a temporary name in its own directory,
 * flushed, then renamed over the target, which is atomic on one filesystem.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { bytesPerElement, type Tensor } from '@adsc/core';
import { INDEX_FILE, type ShardIndex } from './checkpoint.js';
import { assertLittleEndian, fromCoreDType } from './dtypes.js';
import { HEADER_LENGTH_BYTES, METADATA_KEY } from './header.js';

/** The most bytes one writeSync call is given. */
const WRITE_CHUNK_BYTES = 1 << 30;

/** Writes `tensors` (in their own dtypes) and optional string metadata to the safetensors file `path`. */
export function save(path: string, tensors: Readonly<Record<string, Tensor>>, metadata?: Readonly<Record<string, string>>): void {
  assertLittleEndian();
  const entries = Object.entries(tensors).map(([name, tensor]) => {
    checkName(path, name);
    return { name, tensor: tensor.contiguous(), size: bytesPerElement(tensor.dtype), key: Buffer.from(name, 'utf8') };
  });
  entries.sort((a, b) => b.size - a.size || Buffer.compare(a.key, b.key));

  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`${JSON.stringify(METADATA_KEY)}:${metadataJson(path, metadata)}`);
  let offset = 0;
  for (const { name, tensor } of entries) {
    const end = offset + tensor.byteLength;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${fromCoreDType(tensor.dtype)}","shape":[${tensor.shape.join(',')}],` +
        `"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const header = Buffer.alloc(HEADER_LENGTH_BYTES + Math.ceil(json.length / 8) * 8, 0x20); // spaces pad
  header.writeBigUInt64LE(BigInt(header.length - HEADER_LENGTH_BYTES), 0);
  json.copy(header, HEADER_LENGTH_BYTES);

  writeAtomically(path, (fd) => {
    let position = writeFully(fd, header, 0);
    for (const { tensor } of entries) {
      const data = tensor.data;
      const bytes = new Uint8Array(data.buffer, data.byteOffset + tensor.offset * data.BYTES_PER_ELEMENT, tensor.byteLength);
      position = writeFully(fd, bytes, position);
    }
  });
}

/**
 * Writes `tensors` as a sharded checkpoint in `dir`: model-00001-of-0000N.safetensors files of at
 * most `maxShardBytes` tensor bytes each (a larger tensor gets a shard to itself), filled in the
 * order of `tensors`, then model.safetensors.index.json. Always writes an index, even for one shard.
 * `metadata` goes into every shard's header. Returns the index. Shards of an earlier, differently
 * split save in `dir` are not removed.
 */
export function saveSharded(
  dir: string,
  tensors: Readonly<Record<string, Tensor>>,
  { maxShardBytes, metadata }: { maxShardBytes: number; metadata?: Readonly<Record<string, string>> },
): ShardIndex {
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new RangeError(`saveSharded: maxShardBytes must be a positive integer, not ${maxShardBytes}`);
  }
  const shards: Array<Record<string, Tensor>> = [];
  let current: Record<string, Tensor> = {};
  let currentBytes = 0;
  let totalSize = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const bytes = tensor.byteLength;
    if (currentBytes > 0 && currentBytes + bytes > maxShardBytes) {
      shards.push(current);
      current = {};
      currentBytes = 0;
    }
    current[name] = tensor;
    currentBytes += bytes;
    totalSize += bytes;
  }
  shards.push(current);

  mkdirSync(dir, { recursive: true });
  const count = String(shards.length).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${count}.safetensors`;
    save(join(dir, file), shard, metadata);
    for (const name of Object.keys(shard)) weightMap[name] = file;
  });
  const names = Object.keys(weightMap).sort();
  const index: ShardIndex = {
    // The caller's metadata goes into the index too: opening a sharded checkpoint reads it there.
    metadata: { ...metadata, total_size: totalSize },
    weight_map: Object.fromEntries(names.map((name) => [name, weightMap[name]])),
  };
  const text = Buffer.from(`${JSON.stringify(index, null, 2)}\n`, 'utf8');
  writeAtomically(join(dir, INDEX_FILE), (fd) => writeFully(fd, text, 0));
  return index;
}

function checkName(path: string, name: string): void {
  if (name === METADATA_KEY) throw new Error(`save ${path}: "${METADATA_KEY}" cannot be a tensor name`);
  if (/\p{Surrogate}/u.test(name)) throw new Error(`save ${path}: tensor name ${JSON.stringify(name)} holds an unpaired surrogate, which UTF-8 cannot encode`);
}

function metadataJson(path: string, metadata: Readonly<Record<string, string>>): string {
  const items = Object.entries(metadata).map(([key, value]) => {
    if (typeof value !== 'string') throw new TypeError(`save ${path}: metadata value of ${JSON.stringify(key)} must be a string`);
    return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  });
  return `{${items.join(',')}}`;
}

/**
 * Runs `write` on a temporary file next to `path`, flushes it, then renames it to `path`; removes it
 * on failure. A reader sees the old file or the whole new one, never half of it.
 */
export function writeAtomically(path: string, write: (fd: number) => void): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = openSync(temporary, 'wx');
  try {
    write(fd);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temporary);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, path);
  } catch (error) {
    unlinkSync(temporary);
    throw error;
  }
}

/** Writes all of `bytes` at `position` (in calls of at most 1 GiB); returns the position after. */
function writeFully(fd: number, bytes: Uint8Array, position: number): number {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(fd, bytes, done, Math.min(bytes.length - done, WRITE_CHUNK_BYTES), position + done);
  }
  return position + done;
}

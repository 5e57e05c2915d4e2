/**
 * A checkpoint: every tensor of a model under one name -> tensor map, whatever the files.
 *
 * Hugging Face stores a large model as shards plus an index, model.safetensors.index.json:
 *   {"metadata": {"total_size": ...}, "weight_map": {"<tensor name>": "<shard file>", ...}}
 * and a small one as a single model.safetensors. `openCheckpoint` accepts a directory holding
 * either (the index wins when both are there), a path to an index .json, or a path to one
 * .safetensors file, and answers both the same way. Shards are opened (header read and validated)
 * only when one of their tensors is first asked for; opening the checkpoint only reads the index
 * and checks that every shard it names exists.
 */
import { realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import type { Tensor } from '@adsc/core';
import { SafetensorsError } from './errors.js';
import { SafetensorsFile } from './file.js';
import type { TensorInfo } from './header.js';
import { FileError, fileError, readRegularFile } from './regular-file.js';
import { JsonObject, JsonSyntaxError, parseStrictJson, type JsonValue } from './strict-json.js';

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

/** The index file of a sharded checkpoint, as Hugging Face writes it. */
export interface ShardIndex {
  metadata: { total_size: number; [key: string]: string | number };
  /** Tensor name -> shard file name, relative to the index's directory. */
  weight_map: Record<string, string>;
}

export interface CheckpointTensorInfo extends TensorInfo {
  /** Path of the .safetensors file that holds the tensor. */
  readonly file: string;
}

export interface Checkpoint {
  /** Every tensor name: the index's weight_map order, or file order for a single file. */
  names(): string[];
  has(name: string): boolean;
  /** Dtype, shape, offsets and file of `name` (opens its shard); TensorNotFound when absent. */
  info(name: string): CheckpointTensorInfo;
  /** Reads `name` in its stored dtype (opens its shard). */
  tensor(name: string): Tensor;
  /**
   * The single file's "__metadata__" map, or the index's "metadata" object with every value that
   * is not a string written as its JSON text (`{"total_size": 16}` gives `{total_size: '16'}`).
   */
  readonly metadata: Readonly<Record<string, string>>;
  /** Closes every shard opened so far; the checkpoint cannot be read afterwards. */
  close(): void;
}

/** Opens the checkpoint at `path` (a directory, an index .json or a .safetensors file). */
export function openCheckpoint(path: string): Checkpoint {
  const stat = statOf(path);
  if (stat === undefined) throw new SafetensorsError('CheckpointNotFound', { file: path }, 'no such file or directory');
  if (stat.isFile()) return path.endsWith('.json') ? openIndex(path) : openSingle(path);
  if (!stat.isDirectory()) throw new SafetensorsError('NotRegularFile', { file: path }, 'is neither a regular file nor a directory');
  if (statOf(join(path, INDEX_FILE)) !== undefined) return openIndex(join(path, INDEX_FILE));
  if (statOf(join(path, SINGLE_FILE)) !== undefined) return openSingle(join(path, SINGLE_FILE));
  throw new SafetensorsError('CheckpointNotFound', { file: path }, `the directory holds neither ${INDEX_FILE} nor ${SINGLE_FILE}`);
}

/** `stat` of `path` (links followed), undefined when nothing is there; other failures named. */
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    const e = fileError(path, error);
    if (e.code === 'FileNotFound') return undefined;
    throw new SafetensorsError('IoError', { file: path }, e.detail);
  }
}

function openSingle(path: string): Checkpoint {
  const file = SafetensorsFile.open(path);
  return new ShardedCheckpoint(path, new Map(file.names().map((name) => [name, path])), file.metadata, [file]);
}

/** An index lists tensor names and file names: 64 MiB is hundreds of times a 70B model's. */
export const MAX_INDEX_BYTES = 64 * 2 ** 20;

function openIndex(indexPath: string): Checkpoint {
  const invalid = (detail: string, tensor?: string): never => {
    throw new SafetensorsError('InvalidIndex', tensor === undefined ? { file: indexPath } : { file: indexPath, tensor }, detail);
  };
  let root: JsonValue;
  try {
    root = parseStrictJson(readText(indexPath));
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return invalid(`not JSON: ${error.message}`);
  }
  if (!(root instanceof JsonObject)) return invalid('the index must be a JSON object');
  const top = uniqueFields(root, 'the index', invalid);
  const metadata = top.get('metadata') ?? new JsonObject([]);
  const weightMap = top.get('weight_map');
  if (!(metadata instanceof JsonObject)) return invalid('"metadata" must be an object');
  if (!(weightMap instanceof JsonObject)) return invalid('"weight_map" must be an object of tensor name -> shard file');

  const dir = dirname(indexPath);
  const realDir = realpathSync(dir);
  const shardOf = new Map<string, string>();
  const checked = new Set<string>();
  for (const [name, shard] of weightMap.entries) {
    if (shardOf.has(name)) return invalid('the weight_map lists this tensor twice', name);
    if (typeof shard !== 'string' || shard === '' || shard.includes('\0')) return invalid('the weight_map entry must be a file name', name);
    const shardPath = join(dir, shard);
    const inside = relative(dir, shardPath);
    if (isAbsolute(shard) || inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      return invalid(`shard ${JSON.stringify(shard)} is not a file inside ${dir}`, name);
    }
    if (!checked.has(shardPath)) {
      checkShard(indexPath, name, shard, shardPath, realDir);
      checked.add(shardPath);
    }
    shardOf.set(name, shardPath);
  }
  const textMetadata = Object.fromEntries(
    [...uniqueFields(metadata, '"metadata"', invalid)].map(([key, value]) => [key, typeof value === 'string' ? value : jsonText(value)]),
  );
  return new ShardedCheckpoint(indexPath, shardOf, textMetadata, []);
}

/**
 * A shard must exist, be a regular file, and be inside the index's directory once symbolic links
 * are resolved: an index from elsewhere must not make the reader open files outside the model.
 */
function checkShard(indexPath: string, tensor: string, shard: string, shardPath: string, realDir: string): void {
  const stat = statOf(shardPath);
  if (stat === undefined) {
    throw new SafetensorsError('MissingShard', { file: indexPath, tensor }, `the index puts this tensor in ${shard}, which does not exist`);
  }
  if (!stat.isFile()) throw new SafetensorsError('NotRegularFile', { file: shardPath }, `is not a regular file (the index puts ${JSON.stringify(tensor)} in it)`);
  const real = realpathSync(shardPath);
  const inside = relative(realDir, real);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new SafetensorsError('InvalidIndex', { file: indexPath, tensor }, `shard ${shard} resolves to ${real}, outside the model directory ${realDir}`);
  }
}

/** An object's fields by name; a field written twice is refused (JSON.parse would keep the last). */
function uniqueFields(object: JsonObject, what: string, invalid: (detail: string) => never): Map<string, JsonValue> {
  const fields = new Map<string, JsonValue>();
  for (const [key, value] of object.entries) {
    if (fields.has(key)) invalid(`${what} has the field ${JSON.stringify(key)} twice`);
    fields.set(key, value);
  }
  return fields;
}

/** A parsed value written back as JSON text (bigints as their digits). */
function jsonText(value: JsonValue): string {
  if (value instanceof JsonObject) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

/** An index is small (tens of kilobytes for a 7B model), so it is read whole. */
function readText(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(path, MAX_INDEX_BYTES);
  } catch (error) {
    if (!(error instanceof FileError)) throw error;
    const code = error.code === 'NotRegularFile' ? 'NotRegularFile' : error.code === 'FileTooLarge' ? 'InvalidIndex' : 'IoError';
    throw new SafetensorsError(code, { file: path }, error.detail);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SafetensorsError('InvalidIndex', { file: path }, 'the index is not valid UTF-8');
  }
}

/** One implementation for both kinds: a single file is a checkpoint with one shard, opened at once. */
class ShardedCheckpoint implements Checkpoint {
  private readonly opened = new Map<string, SafetensorsFile>();
  private closed = false;

  constructor(
    /** The index or the single file (named in errors about names). */
    private readonly source: string,
    /** Tensor name -> path of the shard that holds it. */
    private readonly shardOf: ReadonlyMap<string, string>,
    readonly metadata: Readonly<Record<string, string>>,
    alreadyOpen: readonly SafetensorsFile[],
  ) {
    for (const file of alreadyOpen) this.opened.set(file.path, file);
  }

  names(): string[] {
    return [...this.shardOf.keys()];
  }

  has(name: string): boolean {
    return this.shardOf.has(name);
  }

  info(name: string): CheckpointTensorInfo {
    const shard = this.shardHolding(name);
    return { ...shard.info(name), file: shard.path };
  }

  tensor(name: string): Tensor {
    return this.shardHolding(name).tensor(name);
  }

  close(): void {
    for (const file of this.opened.values()) file.close();
    this.opened.clear();
    this.closed = true;
  }

  /** The open shard that holds `name`, after checking that it really does. */
  private shardHolding(name: string): SafetensorsFile {
    if (this.closed) throw new SafetensorsError('IoError', { file: this.source, tensor: name }, 'the checkpoint has been closed');
    const path = this.shardOf.get(name);
    if (path === undefined) {
      throw new SafetensorsError('TensorNotFound', { file: this.source, tensor: name }, `no such tensor among the checkpoint's ${this.shardOf.size}`);
    }
    let shard = this.opened.get(path);
    if (shard === undefined) {
      shard = SafetensorsFile.open(path);
      this.opened.set(path, shard);
    }
    if (!shard.has(name)) {
      throw new SafetensorsError('IndexMismatch', { file: path, tensor: name }, `${this.source} puts this tensor in this shard, but the shard has no such tensor`);
    }
    return shard;
  }
}

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
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import type { Tensor } from '@adsc/core';
import { SafetensorsError } from './errors.js';
import { SafetensorsFile } from './file.js';
import type { TensorInfo } from './header.js';

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
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) throw new SafetensorsError('CheckpointNotFound', { file: path }, 'no such file or directory');
  if (stat.isFile()) return path.endsWith('.json') ? openIndex(path) : openSingle(path);
  if (isFile(join(path, INDEX_FILE))) return openIndex(join(path, INDEX_FILE));
  if (isFile(join(path, SINGLE_FILE))) return openSingle(join(path, SINGLE_FILE));
  throw new SafetensorsError('CheckpointNotFound', { file: path }, `the directory holds neither ${INDEX_FILE} nor ${SINGLE_FILE}`);
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function openSingle(path: string): Checkpoint {
  const file = SafetensorsFile.open(path);
  return new ShardedCheckpoint(path, new Map(file.names().map((name) => [name, path])), file.metadata, [file]);
}

function openIndex(indexPath: string): Checkpoint {
  const invalid = (detail: string): never => {
    throw new SafetensorsError('InvalidIndex', { file: indexPath }, detail);
  };
  let index: unknown;
  try {
    index = JSON.parse(readText(indexPath));
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    return invalid(`not JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(index)) return invalid('the index must be a JSON object');
  const { metadata = {}, weight_map: weightMap } = index;
  if (!isPlainObject(metadata)) return invalid('"metadata" must be an object');
  if (!isPlainObject(weightMap)) return invalid('"weight_map" must be an object of tensor name -> shard file');

  const dir = dirname(indexPath);
  const shardOf = new Map<string, string>();
  const checked = new Set<string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') return invalid(`the weight_map entry of ${JSON.stringify(name)} must be a file name`);
    const shardPath = join(dir, shard);
    const inside = relative(dir, shardPath);
    if (isAbsolute(shard) || inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      return invalid(`shard ${JSON.stringify(shard)} of ${JSON.stringify(name)} is not a file inside ${dir}`);
    }
    if (!checked.has(shardPath)) {
      if (!isFile(shardPath)) {
        throw new SafetensorsError('MissingShard', { file: indexPath, tensor: name }, `the index puts this tensor in ${shard}, which does not exist`);
      }
      checked.add(shardPath);
    }
    shardOf.set(name, shardPath);
  }
  const textMetadata = Object.fromEntries(
    Object.entries(metadata).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
  return new ShardedCheckpoint(indexPath, shardOf, textMetadata, []);
}

/** An index is small (tens of kilobytes for a 7B model), so it is read whole. */
function readText(path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(path));
  } catch (error) {
    if (error instanceof TypeError) throw new SafetensorsError('InvalidIndex', { file: path }, 'the index is not valid UTF-8');
    throw error;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

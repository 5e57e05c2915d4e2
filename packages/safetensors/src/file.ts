/**
 * One safetensors file, read through positioned reads on a file descriptor.
 *
 * Checkpoint shards are several gigabytes, so nothing here reads a whole file: `open` reads the
 * 8-byte length and the header alone, and `tensor(name)` reads that tensor's bytes, straight into
 * the storage of the returned Tensor (allocated on a SharedArrayBuffer so that the matmul workers
 * can use weights without a copy). File positions are plain numbers, exact up to 2^53; one
 * readSync moves at most 1 GiB, well under Node's ~2 GiB limit per call.
 */
import { closeSync, readSync } from 'node:fs';
import type { Tensor } from '@adsc/core';
import { SafetensorsEntries, emptyTensor, tensorBytes } from './bytes.js';
import { SafetensorsError } from './errors.js';
import { HEADER_LENGTH_BYTES, decodeHeader, readHeaderLength, type SafetensorsHeader } from './header.js';
import { FileError, openRegularFile } from './regular-file.js';

/** The most bytes one readSync call is asked for. */
const READ_CHUNK_BYTES = 1 << 30;

export class SafetensorsFile extends SafetensorsEntries {
  /** File offset of the byte buffer (8 + N); tensor offsets count from here. */
  readonly dataStart: number;

  private fd: number | undefined;

  private constructor(
    /** The path the file was opened with (named in every error). */
    readonly path: string,
    fd: number,
    header: Pick<SafetensorsHeader, 'metadata' | 'tensors'>,
    dataStart: number,
  ) {
    super(path, header);
    this.fd = fd;
    this.dataStart = dataStart;
  }

  /**
   * Opens `path`, reads and validates its header; throws SafetensorsError for a malformed file or
   * one that is not a regular file (refused before any read: a FIFO would block forever).
   */
  static open(path: string): SafetensorsFile {
    const { fd, size: fileLength } = openOrFail(path);
    try {
      const prefix = new Uint8Array(Math.min(HEADER_LENGTH_BYTES, fileLength));
      readFully(fd, prefix, 0, path);
      const n = readHeaderLength(prefix, fileLength, path);
      const json = new Uint8Array(n);
      readFully(fd, json, HEADER_LENGTH_BYTES, path);
      const header = decodeHeader(json, fileLength, path);
      return new SafetensorsFile(path, fd, header, HEADER_LENGTH_BYTES + header.headerLength);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * Reads tensor `name` in its stored dtype as a new contiguous Tensor. UnsupportedDType for the
   * dtypes @adsc/core cannot hold (F8_*, F6_*, F4, C64).
   */
  tensor(name: string): Tensor {
    const info = this.info(name);
    const t = emptyTensor(info, this.path);
    readFully(this.openFd(name), tensorBytes(t), this.dataStart + info.dataOffsets[0], this.path, name);
    return t;
  }

  /** Releases the file descriptor; later reads throw. Closing twice is harmless. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private openFd(name: string): number {
    if (this.fd === undefined) throw new SafetensorsError('IoError', { file: this.path, tensor: name }, 'the file has been closed');
    return this.fd;
  }
}

function openOrFail(path: string): { fd: number; size: number } {
  try {
    return openRegularFile(path);
  } catch (error) {
    if (!(error instanceof FileError)) throw error;
    throw new SafetensorsError(error.code === 'NotRegularFile' ? 'NotRegularFile' : 'IoError', { file: path }, error.detail);
  }
}

/** Fills `target` from file offset `position`, in reads of at most 1 GiB (readSync may return less). */
function readFully(fd: number, target: Uint8Array, position: number, file: string, tensor?: string): void {
  let done = 0;
  while (done < target.length) {
    const got = readSync(fd, target, done, Math.min(target.length - done, READ_CHUNK_BYTES), position + done);
    if (got === 0) {
      throw new SafetensorsError(
        'IoError', tensor === undefined ? { file } : { file, tensor },
        `the file ended at byte ${position + done} while ${target.length} bytes from ${position} were expected (was it changed after opening?)`,
      );
    }
    done += got;
  }
}

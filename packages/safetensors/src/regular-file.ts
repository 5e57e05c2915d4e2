/**
 * Opening a file that a user named, safely: only regular files, refused before the first read.
 *
 * `openSync(path, 'r')` on a FIFO blocks until something writes to it, and `readFileSync` on
 * /dev/zero or /dev/urandom never ends. So every file this project reads on a user's behalf (a
 * checkpoint shard, an index, config.json, an image, a training record) is opened here: with
 * O_NONBLOCK (which makes opening a FIFO return at once and changes nothing for a regular file),
 * then `fstat` on the descriptor, and anything that is not a regular file is closed and refused.
 * Checking the descriptor rather than the path leaves no window for the path to be swapped.
 *
 * Node's own errors (ENOENT, ENOTDIR, ENAMETOOLONG, a NUL byte in the path, ...) become one
 * FileError that names the file and says what is wrong in words.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

export type FileErrorCode = 'FileNotFound' | 'NotRegularFile' | 'FileTooLarge' | 'FileUnreadable';

export class FileError extends Error {
  override name = 'FileError';
  readonly code: FileErrorCode;
  readonly path: string;
  /** What is wrong, without the path ("is a FIFO (named pipe), not a regular file"). */
  readonly detail: string;

  /** The message reads `<path>: <detail>`. */
  constructor(code: FileErrorCode, path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.code = code;
    this.path = path;
    this.detail = detail;
  }
}

export interface RegularFile {
  fd: number;
  /** The file's length in bytes when it was opened. */
  size: number;
}

/**
 * Opens `path` for reading; throws FileError unless it names a regular file (symbolic links are
 * followed). The caller closes `fd`.
 */
export function openRegularFile(path: string): RegularFile {
  if (path.includes('\0')) throw new FileError('FileUnreadable', JSON.stringify(path), 'the path contains a NUL byte');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw fileError(path, error);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FileError('NotRegularFile', path, `is ${kindOf(stat)}, not a regular file`);
    return { fd, size: stat.size };
  } catch (error) {
    closeSync(fd);
    throw error instanceof FileError ? error : fileError(path, error);
  }
}

/**
 * The whole of the regular file `path`, refused with FileTooLarge before reading when it holds
 * more than `maxBytes` (the caller's idea of how large such a file can sensibly be).
 */
export function readRegularFile(path: string, maxBytes: number): Buffer {
  const { fd, size } = openRegularFile(path);
  try {
    if (size > maxBytes) {
      throw new FileError('FileTooLarge', path, `holds ${size} bytes, more than the ${maxBytes} such a file may have`);
    }
    const bytes = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const got = readSync(fd, bytes, done, size - done, done);
      if (got === 0) break; // the file shrank after fstat; what was read is what there is
      done += got;
    }
    return done === size ? bytes : bytes.subarray(0, done);
  } catch (error) {
    throw error instanceof FileError ? error : fileError(path, error);
  } finally {
    closeSync(fd);
  }
}

/** What `stat` says `path` is, in words ("a directory", "a FIFO", ...). */
function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Node's error for `path` as a FileError with the reason in words. */
export function fileError(path: string, error: unknown): FileError {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT': return new FileError('FileNotFound', path, 'no such file or directory');
    case 'ENOTDIR': return new FileError('FileNotFound', path, 'a component of the path is not a directory');
    case 'ENAMETOOLONG': return new FileError('FileUnreadable', path, 'the path is too long');
    case 'ELOOP': return new FileError('FileUnreadable', path, 'too many levels of symbolic links');
    case 'EACCES':
    case 'EPERM': return new FileError('FileUnreadable', path, 'permission denied');
    case 'EISDIR': return new FileError('NotRegularFile', path, 'is a directory, not a regular file');
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_INVALID_ARG_TYPE': return new FileError('FileUnreadable', JSON.stringify(path), 'not a usable path');
    default: {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return new FileError('FileUnreadable', path, code ? `${code}: ${message}` : message);
    }
  }
}

/**
 * openRegularFile / readRegularFile: only regular files are read, refused by fstat before the
 * first read (a FIFO would block forever, /dev/zero would never end), and Node's path errors become
 * one FileError naming the file.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileError, SafetensorsError, SafetensorsFile, openRegularFile, readRegularFile } from '../src/index.js';
import { errorOf, temporaryDirectory, writeFile } from './hand-built.js';

const scratch = temporaryDirectory();
afterAll(scratch.remove);

function fifo(name: string): string {
  const path = join(scratch.dir, name);
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return path;
}

/** The FileError `fn` throws. */
function fileErrorOf(fn: () => unknown): FileError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FileError) return error;
    throw error;
  }
  throw new Error('expected a FileError, but nothing was thrown');
}

describe('openRegularFile', () => {
  it('opens a regular file and gives its size', () => {
    const { fd, size } = openRegularFile(writeFile(scratch.dir, 'five.bin', 'hello'));
    closeSync(fd);
    expect(size).toBe(5);
  });

  it('refuses a FIFO at once instead of blocking until a writer appears', () => {
    const path = fifo('pipe');
    const e = fileErrorOf(() => openRegularFile(path));
    expect([e.code, e.message]).toEqual(['NotRegularFile', `${path}: is a FIFO (named pipe), not a regular file`]);
  });

  it('refuses a directory and a character device', () => {
    const dir = join(scratch.dir, 'a-directory');
    mkdirSync(dir);
    expect(fileErrorOf(() => openRegularFile(dir)).message).toBe(`${dir}: is a directory, not a regular file`);
    expect(fileErrorOf(() => openRegularFile('/dev/zero')).message).toBe('/dev/zero: is a character device, not a regular file');
  });

  it('names the file and the reason for paths Node refuses', () => {
    const file = writeFile(scratch.dir, 'plain.txt', 'x');
    const long = join(scratch.dir, 'n'.repeat(5000));
    expect(fileErrorOf(() => openRegularFile(join(scratch.dir, 'missing'))).code).toBe('FileNotFound');
    expect(fileErrorOf(() => openRegularFile(join(file, 'below'))).message).toBe(`${join(file, 'below')}: a component of the path is not a directory`);
    expect(fileErrorOf(() => openRegularFile(long)).message).toBe(`${long}: the path is too long`);
    expect(fileErrorOf(() => openRegularFile('a\0b')).message).toBe('"a\\u0000b": the path contains a NUL byte');
  });
});

describe('readRegularFile', () => {
  it('reads the whole file', () => {
    expect(readRegularFile(writeFile(scratch.dir, 'abc.txt', 'abc'), 3).toString()).toBe('abc');
  });

  it('refuses a file larger than the limit before reading it', () => {
    const path = writeFile(scratch.dir, 'big.txt', 'abcd');
    const e = fileErrorOf(() => readRegularFile(path, 3));
    expect([e.code, e.message]).toEqual(['FileTooLarge', `${path}: holds 4 bytes, more than the 3 such a file may have`]);
  });
});

describe('SafetensorsFile.open on what is not a regular file', () => {
  it('refuses a FIFO with a SafetensorsError naming it', () => {
    const path = fifo('shard.safetensors');
    const e = errorOf(() => SafetensorsFile.open(path));
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e.message).toBe(`NotRegularFile: ${path}: is a FIFO (named pipe), not a regular file`);
  });

  it('names the file that is missing', () => {
    const path = join(scratch.dir, 'absent.safetensors');
    expect(errorOf(() => SafetensorsFile.open(path)).message).toBe(`IoError: ${path}: no such file or directory`);
  });
});

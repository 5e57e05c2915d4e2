/**
 * Building safetensors bytes by hand in tests, so that each malformed file reads as what it is:
 * an 8-byte little-endian header length, the header, then the byte buffer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsError } from '../src/index.js';

/**
 * `header` (text, UTF-8 encoded, or raw bytes), then `data` (bytes, or a count of zero bytes).
 * The length field says `declaredLength` (default: the header's true length).
 */
export function fileBytes(header: string | readonly number[], data: number | readonly number[] = 0, declaredLength?: bigint): Uint8Array {
  const headerBytes = typeof header === 'string' ? Buffer.from(header, 'utf8') : Uint8Array.from(header);
  const dataBytes = typeof data === 'number' ? new Uint8Array(data) : Uint8Array.from(data);
  const out = new Uint8Array(8 + headerBytes.length + dataBytes.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(dataBytes, 8 + headerBytes.length);
  return out;
}

/** A fresh directory under the OS temp dir, and a function that removes it. */
export function temporaryDirectory(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'adsc-safetensors-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `bytes` to `dir/name` and returns the path. */
export function writeFile(dir: string, name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** The SafetensorsError `fn` throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): SafetensorsError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SafetensorsError) return error;
    throw error;
  }
  throw new Error('expected a SafetensorsError, but nothing was thrown');
}

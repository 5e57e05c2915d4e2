/**
 * Hostile input to the real `adsc` executable: each case is a command line a careless or malicious
 * user could type, run in its own process under a 3 GiB address-space limit (ulimit -v; WebAssembly
 * is switched off so that V8 does not reserve its 10 GB wasm cages) and a 512 MiB heap. Each must end
 * within its time bound with exit code 2 and exactly one line on stderr, `error: <code>: ...`, with
 * the code and the file, flag or number at fault. Going over the memory limit kills the process,
 * which fails the exit-code check: that is the memory bound.
 *
 * Before issue 12 every case here either ran out of memory, ran for minutes, blocked forever, or
 * ended in an internal error or a stack trace. (A file of 150,000 tensors, whose listing overflowed
 * the stack, is listed in inspect.test.ts.)
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { grayPng } from '../../model/test/gray-png.js';

const root = new URL('../../../', import.meta.url).pathname;
const bin = join(root, 'packages/cli/bin/adsc.mjs');
const gqa = join(root, 'packages/model/test/fixtures/tiny/tiny-gqa'); // 6 layers, image 112 px, 4096 positions
const demo = join(root, 'examples/tiny-llava'); // has a tokenizer

const scratch = mkdtempSync(join(tmpdir(), 'adsc-hostile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ADDRESS_SPACE_KB = 3 * 1024 * 1024;
const HEAP_MB = 512;

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string[];
  seconds: number;
}

/**
 * Runs `adsc ...argv` under the memory limits; `seconds` is its wall time. Asynchronous, so that
 * the cases run two at a time (vitest's concurrent tests) while each one's time is its own.
 */
function adsc(argv: string[], env: Record<string, string> = {}, timeoutSeconds = 30): Promise<Outcome> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const command = `ulimit -v ${ADDRESS_SPACE_KB}; exec "${process.execPath}" --no-expose-wasm --max-old-space-size=${HEAP_MB} "${bin}" ${quoted}`;
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile('bash', ['-c', command], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutSeconds * 1000, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ status, stdout, stderr: stderr.split('\n').filter((l) => l !== ''), seconds: (performance.now() - t0) / 1000 });
    });
  });
}

// -- fixtures -------------------------------------------------------------------------------------

let dirs = 0;
/** A copy of the tiny GQA model, with `edit` applied to its config.json and index. */
function model(edit: { config?: (c: Record<string, any>) => void; configText?: (text: string) => string; index?: (text: string) => string } = {}): string {
  const dir = join(scratch, `model-${dirs++}`);
  cpSync(gqa, dir, { recursive: true });
  if (edit.config || edit.configText) {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    edit.config?.(config);
    const text = JSON.stringify(config);
    writeFileSync(join(dir, 'config.json'), edit.configText ? edit.configText(text) : text);
  }
  if (edit.index) {
    const path = join(dir, 'model.safetensors.index.json');
    writeFileSync(path, edit.index(readFileSync(path, 'utf8')));
  }
  return dir;
}

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

function fifo(name: string): string {
  const path = join(scratch, name);
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return path;
}

/**
 * A safetensors file of 5,000 one-element F32 tensors t0, t1, ... (written by hand: it is quick):
 * its listing, ~150 KB, is more than a pipe holds.
 */
const manyTensors = (() => {
  let path: string | undefined;
  return () => (path ??= writeManyTensors(5000));
})();

function writeManyTensors(n: number): string {
  const entries: string[] = [];
  for (let i = 0; i < n; i++) entries.push(`"t${i}":{"dtype":"F32","shape":[1],"data_offsets":[${4 * i},${4 * i + 4}]}`);
  const header = Buffer.from(`{${entries.join(',')}}`);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return file('many.safetensors', Buffer.concat([length, header, Buffer.alloc(4 * n)]));
}

/**
 * The tiny model plus a sparse shard whose header says it holds `gib` GiB of f16 weights (the
 * file is that long, but holds no blocks on disk).
 */
function hugeModel(gib: number): string {
  const dir = model({
    index: (text) => {
      const index = JSON.parse(text);
      index.weight_map['extra.weight'] = 'huge.safetensors';
      return JSON.stringify(index);
    },
  });
  const elements = (gib * 2 ** 30) / 2;
  const header = Buffer.from(JSON.stringify({ 'extra.weight': { dtype: 'F16', shape: [elements / 1024, 1024], data_offsets: [0, elements * 2] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const path = join(dir, 'huge.safetensors');
  writeFileSync(path, Buffer.concat([length, header]));
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, 8 + header.length + elements * 2);
  closeSync(fd);
  return dir;
}

// -- the table ------------------------------------------------------------------------------------

interface HostileCase {
  /** What the user does, as a sentence. */
  name: string;
  argv: () => string[];
  env?: Record<string, string>;
  /** The one stderr line. */
  line: RegExp;
  /** Wall-clock bound in seconds (the process start alone takes ~1 s). */
  seconds?: number;
}

const run = (dir: string, ...rest: string[]) => ['run', '--model', dir, ...rest];

const cases: HostileCase[] = [
  {
    name: 'a 90-byte PNG whose header claims 20000 x 20000 pixels',
    argv: () => run(gqa, '--image', file('claims.png', grayPng(20000, 20000, new Uint8Array(20001))), '--input-ids', '1,300,2'),
    line: /^error: ImageTooLarge: .*claims\.png: 20000 x 20000 = 400000000 pixels, more than the limit of 89478485 /,
  },
  {
    name: 'a real 20000 x 1 image, whose short edge resized to 112 would be 2,240,000 pixels long',
    argv: () => run(gqa, '--image', file('strip.png', grayPng(20000, 1, new Uint8Array(20001))), '--input-ids', '1,300,2'),
    line: /^error: ImageTooLarge: .*strip\.png, resized: 2240000 x 112 = 250880000 pixels/,
  },
  {
    name: 'a preprocessor_config.json with crop_size 20000',
    argv: () => {
      const dir = model();
      writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ crop_size: 20000, size: 112 }));
      return run(dir, '--input-ids', '1,2');
    },
    line: /^error: PreprocessorMismatch: .*preprocessor_config\.json: crop_size 20000 x 20000 does not match the vision tower's image_size 112$/,
  },
  {
    name: '5,000 input ids for a model of 4,096 positions',
    argv: () => run(gqa, '--input-ids', Array(5000).fill(7).join(','), '--max-new-tokens', '1'),
    line: /^error: ContextTooLong: .*5000 prompt positions \+ 1 new tokens = 5001, past the model's max_position_embeddings 4096$/,
  },
  {
    name: 'a 100,000-character prompt',
    argv: () => ['run', '--model', demo, '--prompt', 'hello world '.repeat(8334), '--max-new-tokens', '4'],
    line: /^error: ContextTooLong: .*past the model's max_position_embeddings 4096$/,
  },
  {
    name: '--max-new-tokens 1000000000',
    argv: () => run(gqa, '--input-ids', '1,2', '--max-new-tokens', '1000000000'),
    line: /^error: ContextTooLong: .*2 prompt positions \+ 1000000000 new tokens/,
  },
  {
    name: '--max-new-tokens 1e9',
    argv: () => run(gqa, '--input-ids', '1,2', '--max-new-tokens', '1e9'),
    line: /^error: Usage: --max-new-tokens must be an integer >= 1, got "1e9"$/,
  },
  {
    name: '--max-new-tokens 0',
    argv: () => run(gqa, '--input-ids', '1,2', '--max-new-tokens', '0'),
    line: /^error: Usage: --max-new-tokens must be an integer >= 1, got "0"$/,
  },
  {
    name: '--threads 0x10',
    argv: () => run(gqa, '--input-ids', '1,2', '--threads', '0x10'),
    line: /^error: Usage: --threads must be an integer >= 1, got "0x10"$/,
  },
  {
    name: 'flops --text-tokens 1e300',
    argv: () => ['flops', '--config', 'llava-1.5-7b', '--text-tokens', '1e300'],
    line: /^error: Usage: --text-tokens must be an integer >= 0, got "1e300"$/,
  },
  {
    name: 'a config.json whose hidden_size is 1e400',
    argv: () => run(model({ configText: (t) => t.replace('"hidden_size":96', '"hidden_size":1e400') }), '--input-ids', '1,2'),
    line: /^error: InvalidConfig: .*config\.json text_config: field "hidden_size" has an invalid value beyond the range of a double \(the file's number reads as Infinity\)$/,
  },
  {
    name: 'a config.json with fewer layers than the checkpoint',
    argv: () => run(model({ config: (c) => (c.text_config.num_hidden_layers = 4) }), '--input-ids', '1,2'),
    line: /^error: LayerCountMismatch: .*num_hidden_layers is 4, but the checkpoint has 6 layers \(language_model\.model\.layers\.0 to language_model\.model\.layers\.5\)$/,
  },
  {
    name: 'an index that lists a tensor twice',
    argv: () => run(model({ index: (t) => t.replace('"weight_map": {', '"weight_map": {"language_model.lm_head.weight": "model-00001-of-00003.safetensors",') }), '--input-ids', '1,2'),
    line: /^error: InvalidIndex: .*model\.safetensors\.index\.json, tensor "language_model\.lm_head\.weight": the weight_map lists this tensor twice$/,
  },
  {
    name: 'a NUL byte in a weight_map file name',
    argv: () => run(model({ index: (t) => t.replace('"weight_map": {', '"weight_map": {"x.weight": "a\\u0000b",') }), '--input-ids', '1,2'),
    line: /^error: InvalidIndex: .*tensor "x\.weight": the weight_map entry must be a file name$/,
  },
  {
    name: 'a shard symlinked to a file outside the model directory',
    argv: () => {
      const dir = model();
      const outside = join(scratch, 'outside.safetensors');
      cpSync(join(dir, 'model-00003-of-00003.safetensors'), outside);
      rmSync(join(dir, 'model-00003-of-00003.safetensors'));
      symlinkSync(outside, join(dir, 'model-00003-of-00003.safetensors'));
      return run(dir, '--input-ids', '1,2');
    },
    line: /^error: InvalidIndex: .*shard model-00003-of-00003\.safetensors resolves to .*outside\.safetensors, outside the model directory /,
  },
  {
    name: '--image naming a FIFO',
    argv: () => run(gqa, '--image', fifo('image.fifo'), '--input-ids', '1,300,2'),
    line: /^error: NotRegularFile: .*image\.fifo: is a FIFO \(named pipe\), not a regular file$/,
  },
  {
    name: 'a shard that is a FIFO',
    argv: () => {
      const dir = model();
      rmSync(join(dir, 'model-00002-of-00003.safetensors'));
      spawnSync('mkfifo', [join(dir, 'model-00002-of-00003.safetensors')]);
      return run(dir, '--input-ids', '1,2');
    },
    line: /^error: NotRegularFile: .*model-00002-of-00003\.safetensors: is not a regular file/,
  },
  {
    name: 'inspect a path whose name is too long for the file system',
    argv: () => ['inspect', join(scratch, 'x'.repeat(5000))],
    line: /^error: IoError: .*x{100}.*: the path is too long$/,
  },
  {
    name: 'a checkpoint whose headers say 4 GiB of weights, with 2 GiB of memory',
    argv: () => run(hugeModel(4), '--input-ids', '1,2'),
    env: { ADSC_MEMORY_LIMIT: String(2 * 2 ** 30) },
    line: /^error: InsufficientMemory: .*needs about 4\.\d\d GiB \(weights 4\.00 GiB, .*but ADSC_MEMORY_LIMIT allows 2\.00 GiB; --force loads it anyway$/,
  },
];

describe.concurrent('adsc on hostile input', () => {
  it.each(cases)('$name: exit 2 with one error line, within bounds', async ({ argv, env, line, seconds = 15 }) => {
    const r = await adsc(argv(), env, seconds + 15);
    expect(r.stderr).toEqual([expect.stringMatching(line)]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.seconds).toBeLessThan(seconds);
  }, 60_000);

  it('caps --threads 1000 at the core count with a note, and runs', async () => {
    const r = await adsc(run(gqa, '--input-ids', '1,2', '--max-new-tokens', '1', '--threads', '1000', '--json'));
    expect(r.stderr).toEqual([expect.stringMatching(/^note: --threads 1000 is more than the \d+ cores this process may use; using \d+$/)]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).output_ids).toHaveLength(1);
    expect(r.seconds).toBeLessThan(15);
  }, 60_000);

  it('stops quietly when the reader of its output goes away (inspect | head -1)', () => {
    const command = `set -o pipefail; "${process.execPath}" "${bin}" inspect "${manyTensors()}" | head -1`;
    const r = spawnSync('bash', ['-c', command], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('many.safetensors: 5000 tensors, 5,000 parameters, 19.5 KiB (F32)\n');
    expect(r.status).toBe(0);
  }, 60_000);
});

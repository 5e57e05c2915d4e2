/**
 * What the browser bundle gets in place of Node's modules and of the Node-only image decoders.
 *
 * The packages the page imports keep their file-system functions next to the pure ones (readConfig
 * beside parseConfig, SafetensorsFile beside SafetensorsBytes, ...). The page calls only the pure
 * ones, but the bundle still has to resolve every import. Each stand-in below exports the names the
 * packages import; a file-system or thread function throws a clear error if anything calls it, and
 * the few that are read at load or in the page's path (os, path) behave as the browser allows:
 * one thread, little-endian, posix joins.
 *
 * esbuild fails the build when a package imports a name a stand-in lacks, so this list cannot go
 * silently stale.
 */
import type { Plugin } from 'esbuild';

const unavailable = (module: string, names: string[]) =>
  names
    .map((name) => `export const ${name} = (..._args) => { throw new Error(${JSON.stringify(`${module}.${name} is not available in the browser`)}); };`)
    .join('\n');

const STUBS: Record<string, string> = {
  'node:fs': [
    unavailable('fs', [
      'closeSync', 'copyFileSync', 'existsSync', 'fstatSync', 'fsyncSync', 'mkdirSync', 'openSync', 'readFileSync', 'readSync', 'readdirSync',
      'realpathSync', 'renameSync', 'rmSync', 'statSync', 'unlinkSync', 'writeFileSync', 'writeSync',
    ]),
    'export const constants = {};',
  ].join('\n'),
  'node:crypto': unavailable('crypto', ['createHash']),
  'node:worker_threads': [unavailable('worker_threads', ['MessageChannel', 'Worker', 'receiveMessageOnPort']), 'export const parentPort = null;', 'export const workerData = undefined;'].join('\n'),
  // The thread pool asks for the core count at load: the page runs every kernel on its one thread.
  'node:os': [
    'export const availableParallelism = () => 1;',
    'export const totalmem = () => 4 * 2 ** 30;',
    "export const endianness = () => 'LE';",
  ].join('\n'),
  'node:path': [
    "export const join = (...parts) => parts.filter((p) => p !== '').join('/').replace(/\\/+/g, '/');",
    "export const dirname = (p) => p.replace(/\\/[^/]*$/, '') || '.';",
    "export const basename = (p) => p.replace(/^.*\\//, '');",
    'export const resolve = (...parts) => join(...parts);',
    'export const relative = (_from, to) => to;',
    "export const isAbsolute = (p) => p.startsWith('/');",
  ].join('\n'),
  // Image files are decoded by the browser itself (createImageBitmap), never by these.
  pngjs: `export const PNG = { sync: { read() { throw new Error('pngjs is not bundled: the page decodes images with the browser'); }, write() { throw new Error('pngjs is not bundled'); } } };`,
  'jpeg-js': `export default { decode() { throw new Error('jpeg-js is not bundled: the page decodes images with the browser'); } };`,
};

export const browserShims: Plugin = {
  name: 'adsc-browser-shims',
  setup(build) {
    const filter = new RegExp(`^(${Object.keys(STUBS).map((k) => k.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'adsc-shim' }));
    build.onLoad({ filter: /.*/, namespace: 'adsc-shim' }, (args) => ({ contents: STUBS[args.path], loader: 'js' }));
  },
};

/**
 * A pool of worker threads that run one synchronous job split into parts.
 *
 * `runOnThreads(task, parts)` runs parts[0] on the calling thread and parts[1..] on workers, then
 * blocks (Atomics.wait) until all are done, so callers such as `matmul` stay synchronous. A task
 * names a module and an export: the worker imports the module (cached after the first job) and
 * calls the export with its part. Parts travel by structured clone, so every typed array in them
 * must sit on a SharedArrayBuffer: the workers then read and write the caller's memory directly.
 * A part is posted on the worker's own MessageChannel port and announced on a shared counter that
 * the worker sleeps on with Atomics.wait (threads/worker.ts): a handoff of about 0.05 ms where a
 * 'message' event through the worker's event loop took 0.3-0.4 ms (a 2-thread decode product of a
 * 1024 x 4096 weight: 0.30 ms against 1.01 ms before, measured here).
 *
 * Workers are started on first use and `unref`ed, so they never keep a process alive. A worker
 * whose thread ends mid-job (process.exit, a fatal error) is noticed within a second and the call
 * throws; one killed without running its exit handler could still leave the caller waiting.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';

export interface ThreadTask<P> {
  /** URL of the module that exports the function (its `import.meta.url`). */
  module: string;
  /** Name of the exported function. */
  name: string;
  /** The same function, run on the calling thread. */
  run: (part: P) => void;
}

const STARTUP_TIMEOUT_MS = 60_000;
const ERROR_BYTES = 4096;
/** While waiting for parts, look every this often whether a worker has exited. */
const EXIT_CHECK_MS = 1000;

let threads = availableParallelism();
let workers: Worker[] = [];
/**
 * exited[i] = 1 once worker i's thread is ending (it sets the flag from its own 'exit' handler:
 * the waiting thread is blocked and cannot see the Worker's events).
 */
let exited: Int32Array | undefined; // made with the first worker: a module import allocates nothing
let started = 0; // workers ever started: each gets the next slot of `exited`
const slots = new WeakMap<Worker, number>();
/** Where each worker takes its jobs: a port to post them on, and a counter it sleeps on. */
const mailboxes = new WeakMap<Worker, { jobs: MessagePort; signal: Int32Array }>();

/** Total threads used by parallel kernels, the calling thread included (default: all cores). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected an integer >= 1, got ${n}`);
  threads = n;
  for (const w of workers.splice(n - 1)) void w.terminate();
}

export function getNumThreads(): number {
  return threads;
}

/** Starts workers until there are `count`, waiting until each has loaded its code. */
function ensureWorkers(count: number): void {
  if (workers.length >= count) return;
  exited ??= new Int32Array(new SharedArrayBuffer(4 * 1024));
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const starting = count - workers.length;
  for (let i = 0; i < starting; i++) {
    const slot = started++ % exited.length;
    Atomics.store(exited, slot, 0);
    const { port1, port2 } = new MessageChannel();
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const w = new Worker(new URL('./worker-entry.mjs', import.meta.url), {
      workerData: { ready, exited, slot, jobs: port2, signal },
      transferList: [port2],
      execArgv: [],
    });
    w.unref();
    port1.unref();
    workers.push(w);
    slots.set(w, slot);
    mailboxes.set(w, { jobs: port1, signal });
  }
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (let seen = Atomics.load(ready, 0); seen < starting; seen = Atomics.load(ready, 0)) {
    const left = deadline - Date.now();
    if (left <= 0 || Atomics.wait(ready, 0, seen, left) === 'timed-out') {
      for (const w of workers.splice(workers.length - starting)) void w.terminate();
      throw new Error(`thread pool: ${starting - seen} of ${starting} worker threads did not start within ${STARTUP_TIMEOUT_MS / 1000} s`);
    }
  }
}

/** Runs parts[0] here and parts[i] on worker i-1, and returns when every part has finished. */
export function runOnThreads<P>(task: ThreadTask<P>, parts: P[]): void {
  if (parts.length === 0) return;
  ensureWorkers(parts.length - 1);
  // done[0]: parts finished on workers; done[1]: 1 if one of them threw (its message in `error`).
  const done = new Int32Array(new SharedArrayBuffer(8));
  const error = new Uint8Array(new SharedArrayBuffer(ERROR_BYTES));
  for (let i = 1; i < parts.length; i++) {
    const { jobs, signal } = mailboxes.get(workers[i - 1])!;
    jobs.postMessage({ module: task.module, name: task.name, part: parts[i], done, error });
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  }
  let localError: unknown;
  try {
    task.run(parts[0]);
  } catch (e) {
    localError = e;
  }
  const remote = parts.length - 1;
  const used = workers.slice(0, remote);
  for (let seen = Atomics.load(done, 0); seen < remote; seen = Atomics.load(done, 0)) {
    if (Atomics.wait(done, 0, seen, EXIT_CHECK_MS) !== 'timed-out') continue;
    const dead = used.findIndex((w) => Atomics.load(exited!, slots.get(w)!) === 1);
    if (dead >= 0 && Atomics.load(done, 0) < remote) {
      // Its part will never finish: drop every worker (a fresh pool starts on the next call).
      for (const w of workers.splice(0)) void w.terminate();
      throw new Error(`worker thread ${dead + 1} exited while running ${task.name}`);
    }
  }
  if (localError) throw localError;
  if (Atomics.load(done, 1)) {
    const text = new TextDecoder().decode(error.slice()).replace(/\0+$/, '');
    throw new Error(`worker thread failed in ${task.name}: ${text}`);
  }
}

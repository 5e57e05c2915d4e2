/**
 * Body of a pool worker: for each message, import the named module (cached by Node after the
 * first time), call the named export with this worker's part, then count the part as done and
 * wake the waiting thread. Errors are written into the shared error buffer, never lost.
 */
import { parentPort, workerData } from 'node:worker_threads';

interface Job {
  module: string;
  name: string;
  part: unknown;
  done: Int32Array;
  error: Uint8Array;
}

const port = parentPort;
if (!port) throw new Error('threads/worker.ts must run in a worker thread');

port.on('message', async (job: Job) => {
  try {
    const mod = (await import(job.module)) as Record<string, (part: unknown) => void>;
    mod[job.name](job.part);
  } catch (e) {
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    if (Atomics.compareExchange(job.done, 1, 0, 1) === 0) {
      job.error.set(new TextEncoder().encode(text).subarray(0, job.error.length));
    }
  } finally {
    Atomics.add(job.done, 0, 1);
    Atomics.notify(job.done, 0);
  }
});

const { ready, exited, slot } = workerData as { ready: Int32Array; exited: Int32Array; slot: number };
// Tell a waiting caller that this thread is ending (it cannot see the Worker's 'exit' event).
process.on('exit', () => Atomics.store(exited, slot, 1));
Atomics.add(ready, 0, 1);
Atomics.notify(ready, 0);

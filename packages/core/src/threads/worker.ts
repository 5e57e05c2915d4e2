/**
 * Body of a pool worker. It sleeps on its shared `signal` (Atomics.wait: a futex, which wakes in
 * microseconds where a 'message' event waited on the event loop took about 0.3 ms, measured here),
 * and for each job the caller posts on `jobs` and signals: takes it off the port synchronously,
 * imports the named module (once; later jobs call the cached one), calls the named export with this
 * worker's part, then counts the part as done and wakes the waiting thread. Errors are written
 * into the shared error buffer, never lost.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';

interface Job {
  module: string;
  name: string;
  part: unknown;
  done: Int32Array;
  error: Uint8Array;
}

type Exports = Record<string, (part: unknown) => void>;

if (!parentPort) throw new Error('threads/worker.ts must run in a worker thread');

const { ready, exited, slot, jobs, signal } = workerData as { ready: Int32Array; exited: Int32Array; slot: number; jobs: MessagePort; signal: Int32Array };
const modules = new Map<string, Exports>();

async function run(job: Job): Promise<void> {
  try {
    let mod = modules.get(job.module);
    if (!mod) {
      mod = (await import(job.module)) as Exports;
      modules.set(job.module, mod);
    }
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
}

async function serve(): Promise<void> {
  for (let taken = 0; ; taken++) {
    // signal[0] counts the jobs posted; wait (waking each second, so termination is never held up)
    // until there is one more than this worker has taken.
    while (Atomics.load(signal, 0) === taken) Atomics.wait(signal, 0, taken, 1000);
    let received = receiveMessageOnPort(jobs);
    while (!received) {
      Atomics.wait(signal, 0, taken + 1, 1); // posted just before the signal: wait the message out
      received = receiveMessageOnPort(jobs);
    }
    await run(received.message as Job);
  }
}

// Tell a waiting caller that this thread is ending (it cannot see the Worker's 'exit' event).
process.on('exit', () => Atomics.store(exited, slot, 1));
Atomics.add(ready, 0, 1);
Atomics.notify(ready, 0);
void serve();

import { afterAll, describe, expect, it } from 'vitest';
import { getNumThreads, runOnThreads, setNumThreads } from '../src/index.js';
import { EXIT, FAIL, WRITE, type Part } from './fixtures/tasks.js';

const initial = getNumThreads();
afterAll(() => setNumThreads(initial));

function parts(n: number): Part[] {
  const out = new Int32Array(new SharedArrayBuffer(4 * n));
  return Array.from({ length: n }, (_, index) => ({ out, index }));
}

describe('runOnThreads', () => {
  it('runs every part, on the caller and on the workers, into shared memory', () => {
    const p = parts(3);
    runOnThreads(WRITE, p);
    expect(Array.from(p[0].out)).toEqual([100, 101, 102]);
  });

  it('rethrows an error raised on a worker, with its message', () => {
    expect(() => runOnThreads(FAIL, parts(2))).toThrow(/worker thread failed in failOnWorker: Error: part 1 refuses/);
  });

  it('throws, instead of waiting forever, when a worker thread exits mid-job', () => {
    expect(() => runOnThreads(EXIT, parts(2))).toThrow('worker thread 1 exited while running exitOnWorker');
    const p = parts(2);
    runOnThreads(WRITE, p); // a fresh pool takes over
    expect(Array.from(p[0].out)).toEqual([100, 101]);
  });

  it('keeps working after a part has failed', () => {
    expect(() => runOnThreads(FAIL, parts(2))).toThrow();
    const p = parts(2);
    runOnThreads(WRITE, p);
    expect(Array.from(p[0].out)).toEqual([100, 101]);
  });
});

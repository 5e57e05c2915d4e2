/**
 * What every bench suite shares: run tinybench tasks with the project's settings and print one
 * table with time, GFLOP/s and ratios against a peer measured in the same run.
 */
import { Bench } from 'tinybench';

export interface Case {
  name: string;
  /** Floating-point operations of one call (2 per multiply-add). */
  flops: number;
  fn: () => unknown;
  /** Runs before the timed calls of this case (e.g. setNumThreads). */
  setup?: () => void;
}

export interface Measured {
  name: string;
  ms: number;
  rme: number;
  samples: number;
  gflops: number;
}

/**
 * Times each case in turn; `quick` gives rough numbers fast. `iterations` is the minimum number
 * of samples (default 5) for cases that take seconds each.
 */
export async function measure(cases: Case[], quick: boolean, iterations = 5): Promise<Measured[]> {
  const results: Measured[] = [];
  for (const c of cases) {
    // One Bench per case so that each case's setup runs right before its own samples.
    const bench = new Bench({
      time: quick ? 100 : 2000,
      iterations: quick ? 1 : iterations,
      warmupTime: quick ? 0 : 200,
      warmupIterations: 1,
      throws: true,
    });
    c.setup?.();
    bench.add(c.name, c.fn);
    await bench.run();
    const r = bench.tasks[0].result;
    if (r.state !== 'completed') throw new Error(`bench case ${c.name} did not complete (${r.state})`);
    const ms = r.latency.mean;
    results.push({ name: c.name, ms, rme: r.latency.rme, samples: r.latency.samplesCount, gflops: c.flops / (ms * 1e6) });
  }
  return results;
}

/** Prints measured cases as a table; `ratios` adds columns "x <peer>" = peer time / this time. */
export function printTable(rows: Measured[], extra: Record<string, (r: Measured) => string> = {}): void {
  const table = rows.map((r) => ({
    case: r.name,
    'ms/call': r.ms.toFixed(r.ms < 10 ? 3 : 1),
    '±%': r.rme.toFixed(1),
    samples: r.samples,
    'GFLOP/s': r.gflops.toFixed(2),
    ...Object.fromEntries(Object.entries(extra).map(([k, f]) => [k, f(r)])),
  }));
  console.table(table);
}

/** Speed of `r` relative to `peer` (peer time / r time), e.g. "5.9x". */
export function speedup(r: Measured, peer: Measured | undefined): string {
  return peer ? `${(peer.ms / r.ms).toFixed(2)}x` : '-';
}

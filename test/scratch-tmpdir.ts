/**
 * Vitest global setup: every file a test run writes under os.tmpdir() (its own scratch
 * directories, and those of the CLI processes it starts) goes into one fresh directory that is
 * removed when the run ends, so no run leaves anything behind in /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const scratch = mkdtempSync(join(tmpdir(), 'adsc-test-'));
  process.env.TMPDIR = scratch; // read by os.tmpdir() in the test workers, which inherit it
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(scratch, { recursive: true, force: true });
  };
}

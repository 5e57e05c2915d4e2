import { describe, expect, it } from 'vitest';
import { main } from '../src/main.js';

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

describe('usage', () => {
  for (const command of ['train', 'eval', 'run', 'inspect']) {
    it(`adsc ${command} --help prints the usage with every command and exits 0`, async () => {
      const r = await cli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.err).toEqual([]);
      expect(r.out[0]).toMatch(/^usage:\n/);
      expect(r.out[0]).toContain('adsc train --model DIR --data FILE --out DIR');
    });
  }

  it('adsc with no command prints the usage and exits 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.out[0]).toMatch(/^usage:\n/);
  });
});

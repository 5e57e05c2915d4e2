import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/main.js';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

const fresh = () => join(mkdtempSync(join(tmpdir(), 'adsc-data-')), 'set');

describe('adsc data shapes', { timeout: 60_000 }, () => {
  it('writes questions.json and one PNG per question, and reports the chance level of each type', async () => {
    const out = fresh();
    const r = await run('data', 'shapes', '--seed', '3', '--count', '12', '--out', out);
    expect(r.code).toBe(0);
    const records = JSON.parse(readFileSync(join(out, 'questions.json'), 'utf8'));
    expect(records).toHaveLength(12);
    expect(readdirSync(join(out, 'images'))).toHaveLength(12);
    expect(r.out[0]).toBe(`wrote 12 questions and images to ${out} (seed 3, 168 px, 3-6 objects of 20, 28 px)`);
    // 12 records deal the six types twice each; two answers of a type are dealt from one shuffled deck, so they differ: chance 50 %.
    expect(r.out.slice(2)).toEqual(['color', 'shape', 'count', 'exists', 'left', 'above'].map((t) => `${t.padEnd(8)}         2        2  50.0 %`));
  });

  it('writes the same files for the same seed', async () => {
    const [a, b] = [fresh(), fresh()];
    await run('data', 'shapes', '--seed', '4', '--count', '3', '--out', a);
    await run('data', 'shapes', '--seed', '4', '--count', '3', '--out', b);
    expect(readFileSync(join(a, 'questions.json'))).toEqual(readFileSync(join(b, 'questions.json')));
    expect(readFileSync(join(a, 'images/000002.png'))).toEqual(readFileSync(join(b, 'images/000002.png')));
  });

  it('writes images of the requested size', async () => {
    const out = fresh();
    await run('data', 'shapes', '--seed', '4', '--count', '1', '--out', out, '--image-size', '336');
    const png = readFileSync(join(out, 'images/000000.png'));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([336, 336]); // IHDR width, height
  });

  it.each([
    [['--count', '2', '--out', 'x'], 'error: Usage: adsc data shapes needs --seed S'],
    [['--seed', '1', '--out', 'x'], 'error: Usage: adsc data shapes needs --count N'],
    [['--seed', '1', '--count', '2'], 'error: Usage: adsc data shapes needs --out DIR'],
    [['--seed=-1', '--count', '2', '--out', 'x'], 'error: Usage: --seed must be an integer from 0 to 4294967295, got "-1"'],
    [['--seed', '1', '--count', '0', '--out', 'x'], 'error: Usage: --count must be an integer from 1 to 10000000, got "0"'],
    [['--seed', '1', '--count', '2.5', '--out', 'x'], 'error: Usage: --count must be an integer from 1 to 10000000, got "2.5"'],
    [['--seed', '1', '--count', '2', '--out', 'x', '--image-size', '40'], 'error: Usage: --image-size must be an integer from 84 to 2048, got "40"'],
    [['--seed', '1', '--count', '2', '--out', 'x', '--turns', '0'], 'error: Usage: --turns must be an integer from 1 to 32, got "0"'],
    [['--seed', '1', '--count', '2', '--out', 'x', '--objects', '1..2'], 'error: Usage: --objects must be MIN-MAX or N, got "1..2"'],
    [['--seed', '1', '--count', '2', '--out', 'x', '--objects', '3-1'], 'error: Usage: --objects MIN-MAX needs MIN <= MAX, got "3-1"'],
    [['--seed', '1', '--count', '2', '--out', 'x', '--objects', '0-2'], 'error: Usage: --objects must be an integer from 1 to 12, got "0"'],
    [['--seed', '1', '--count', '2', '--out', 'x', '--sizes', '42,7'], 'error: Usage: --sizes must be an integer from 8 to 84, got "7"'],
    [['--seed', '1', '--count', '2', '--out', 'x', '--types', 'shape,size'], 'error: Usage: --types must be some of color,shape,count,exists,left,above, got "size"'],
  ])('rejects %j with one line and exit code 2', async (flags, line) => {
    const r = await run('data', 'shapes', ...flags);
    expect(r).toEqual({ code: 2, out: [], err: [line] });
  });

  it('writes follow-up turns with --turns and says how many', async () => {
    const out = fresh();
    const r = await run('data', 'shapes', '--seed', '4', '--count', '3', '--out', out, '--turns', '4');
    expect(r.out[0]).toBe(`wrote 3 questions and 9 follow-up questions and images to ${out} (seed 4, 168 px, 3-6 objects of 20, 28 px)`);
    const json = JSON.parse(readFileSync(join(out, 'questions.json'), 'utf8'));
    expect(json.map((rec: { conversations: unknown[] }) => rec.conversations.length)).toEqual([8, 8, 8]);
  });

  it('writes easier scenes with --objects and --sizes, and says which', async () => {
    const out = fresh();
    const r = await run('data', 'shapes', '--seed', '4', '--count', '6', '--out', out, '--objects', '1-2', '--sizes', '42,56');
    expect(r.out[0]).toBe(`wrote 6 questions and images to ${out} (seed 4, 168 px, 1-2 objects of 42, 56 px)`);
    const one = await run('data', 'shapes', '--seed', '4', '--count', '6', '--out', fresh(), '--objects', '1', '--sizes', '56');
    expect(one.out[0]).toMatch(/\(seed 4, 168 px, 1 object of 56 px\)$/);
  });

  it('asks only the --types given', async () => {
    const out = fresh();
    const r = await run('data', 'shapes', '--seed', '4', '--count', '6', '--out', out, '--types', 'shape,exists', '--turns', '3');
    expect(r.out.slice(2).map((l) => l.split(' ')[0])).toEqual(['shape', 'exists']);
    const json = JSON.parse(readFileSync(join(out, 'questions.json'), 'utf8'));
    const questions = json.flatMap((rec: { conversations: { from: string; value: string }[] }) => rec.conversations.filter((c) => c.from === 'human').map((c) => c.value));
    expect(questions.filter((q: string) => !/What shape is the \w+ object\?|Is there a \w+ \w+\?/.test(q))).toEqual([]);
  });

  it('rejects a layout whose objects do not fit with one line and exit code 2', async () => {
    const r = await run('data', 'shapes', '--seed', '4', '--count', '6', '--out', fresh(), '--objects', '6', '--sizes', '84');
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/could not build a \w+ scene .*\(6 objects of 84 px: too many or too large objects\?\)$/);
  });

  it('rejects an unknown flag with one line', async () => {
    const r = await run('data', 'shapes', '--seed', '1', '--count', '2', '--out', fresh(), '--colors', '3');
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^error: ERR_PARSE_ARGS_UNKNOWN_OPTION: Unknown option '--colors'/);
  });

  it('rejects an unknown generator', async () => {
    expect((await run('data', 'mnist')).err).toEqual(['error: Usage: adsc data needs a generator: shapes (got "mnist")']);
  });

  it('refuses an output directory that holds files and writes nothing into it', async () => {
    const out = fresh();
    await run('data', 'shapes', '--seed', '1', '--count', '1', '--out', out);
    const r = await run('data', 'shapes', '--seed', '2', '--count', '5', '--out', out);
    expect(r.err).toEqual([`error: DatasetExists: ${out}: exists and is not empty (choose a new --out or remove it)`]);
    expect(readdirSync(join(out, 'images'))).toEqual(['000000.png']);
    expect(existsSync(join(out, '..', '.set.tmp-' + process.pid))).toBe(false);
  });
});

/**
 * Numeric flags are parsed strictly: plain decimal text in a stated range, or a UsageError that
 * names the flag and quotes what was given.
 */
import { describe, expect, it } from 'vitest';
import { integerFlag, numberFlag } from '../src/args.js';

describe('integerFlag', () => {
  it('reads plain decimal integers', () => {
    expect([integerFlag('--n', '0'), integerFlag('--n', '42'), integerFlag('--n', '007'), integerFlag('--n', '-3', { min: -5 })]).toEqual([0, 42, 7, -3]);
  });

  it.each(['0x10', '0b11', '0o7', '1e3', '1.0', '+3', ' 12', '12 ', '', '1_000', 'Infinity', 'NaN', '12abc'])(
    'refuses %j, which Number() would read or half-read',
    (text) => {
      expect(() => integerFlag('--max-new-tokens', text, { min: 1 })).toThrow(`--max-new-tokens must be an integer >= 1, got ${JSON.stringify(text)}`);
    },
  );

  it('refuses integers past 2^53 - 1, which a double cannot hold exactly', () => {
    expect(integerFlag('--n', '9007199254740991')).toBe(2 ** 53 - 1);
    expect(() => integerFlag('--n', '9007199254740993')).toThrow('--n must be an integer >= 0, got "9007199254740993"');
  });

  it('refuses values outside the stated range, naming both ends', () => {
    expect(() => integerFlag('--seed', '4294967296', { max: 2 ** 32 - 1 })).toThrow('--seed must be an integer from 0 to 4294967295, got "4294967296"');
    expect(() => integerFlag('--threads', '0', { min: 1 })).toThrow('--threads must be an integer >= 1, got "0"');
  });
});

describe('numberFlag', () => {
  it('reads plain decimal notation', () => {
    const range = { min: 0, max: 100 };
    expect([numberFlag('--t', '0.7', range), numberFlag('--t', '2', range), numberFlag('--t', '.5', range), numberFlag('--t', '3.', range)]).toEqual([0.7, 2, 0.5, 3]);
  });

  it.each(['1e300', '1e-3', 'Infinity', '-Infinity', 'NaN', '0x1', '', ' 1', '1,5', '9'.repeat(40)])('refuses %j', (text) => {
    expect(() => numberFlag('--temperature', text, { min: 0, max: 100 })).toThrow(`--temperature must be a decimal number in [0, 100], got ${JSON.stringify(text)}`);
  });

  it('refuses the lower end when it is exclusive', () => {
    expect(() => numberFlag('--top-p', '0', { min: 0, max: 1, minExclusive: true })).toThrow('--top-p must be a decimal number in (0, 1], got "0"');
    expect(numberFlag('--top-p', '1', { min: 0, max: 1, minExclusive: true })).toBe(1);
  });
});

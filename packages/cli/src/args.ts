/**
 * Numeric command-line flags, parsed strictly.
 *
 * `Number(text)` accepts far more than a person means by a number: "0x10" (16), "1e9", "1e300",
 * " 12 ", "0b11", "Infinity", and digits past 2^53 that silently round. A flag's value is a size
 * the program will allocate or loop over, so only plain decimal text is accepted here, within a
 * range the caller states, and anything else is a UsageError naming the flag and what was given.
 * Every command (run, flops, and the training and evaluation ones) parses its numbers through
 * these two functions.
 */
import { UsageError } from './errors.js';

export interface IntegerRange {
  /** Smallest accepted value (default 0). */
  min?: number;
  /** Largest accepted value (default 2^53 - 1). */
  max?: number;
}

/** Plain decimal digits, an optional minus sign, at most 16 digits (beyond that a double rounds). */
const INTEGER = /^-?\d{1,16}$/;

/** `text` as an integer in [min, max]; UsageError for anything else ("0x10", "1e3", "1.0", "+3", ""). */
export function integerFlag(flag: string, text: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: IntegerRange = {}): number {
  const value = INTEGER.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be an integer ${range}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export interface NumberRange {
  min: number;
  max: number;
  /** Whether `min` itself is refused (e.g. top-p in (0, 1]). */
  minExclusive?: boolean;
}

/** Plain decimal notation ("0.7", "2", ".5", "-1.25"): no exponent, hex, Infinity or NaN. */
const DECIMAL = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** `text` as a number in [min, max] (or (min, max]); UsageError for anything else. */
export function numberFlag(flag: string, text: string, { min, max, minExclusive = false }: NumberRange): number {
  const value = text.length <= 32 && DECIMAL.test(text) ? Number(text) : NaN;
  if (!(minExclusive ? value > min : value >= min) || !(value <= max)) {
    throw new UsageError(`${flag} must be a decimal number in ${minExclusive ? '(' : '['}${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return value;
}

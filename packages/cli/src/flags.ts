/**
 * Number flags for the data and eval commands: a flag that is not a whole number in range fails
 * with one line naming it.
 */
import { UsageError } from './errors.js';

export function integerFlag(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new UsageError(`${flag} must be an integer ${range}, got ${JSON.stringify(text)}`);
  }
  return v;
}

/** A required string flag. */
export function requiredFlag(command: string, flag: string, value: string | undefined, what: string): string {
  if (value === undefined) throw new UsageError(`${command} needs ${flag} ${what}`);
  return value;
}

/**
 * Environment variables, read through globalThis so that the packages also load in a browser,
 * where there is no `process` and so no variable is ever set.
 */
export function environmentVariable(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

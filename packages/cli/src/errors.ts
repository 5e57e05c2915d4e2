/**
 * How the CLI fails: one line on stderr, `error: <code>: <message>`, exit code 2, never a stack
 * trace. Library errors bring their own code (SafetensorsError.code, Node's ENOENT, ...); usage
 * mistakes use UsageError.
 */

export class UsageError extends Error {
  readonly code = 'Usage';
}

/** The one-line form of any thrown value. */
export function errorLine(e: unknown): string {
  if (!(e instanceof Error)) return `error: Error: ${String(e)}`;
  const code = (e as { code?: unknown }).code;
  const label = typeof code === 'string' && code ? code : e.name || 'Error';
  const message = e.message.startsWith(`${label}: `) ? e.message.slice(label.length + 2) : e.message;
  return `error: ${label}: ${message.split('\n')[0]}`;
}

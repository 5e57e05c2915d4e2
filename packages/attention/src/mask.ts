/**
 * The causal visibility rule, in one place for every implementation.
 *
 * Query row i of a call sits at absolute position `queryOffset + i`; with `causal` it sees key j
 * only if j <= queryOffset + i. Visible keys therefore always form a prefix [0, end) of the keys,
 * so each row is described by one number, its visible end. The default offset, Tk - Tq, puts the
 * queries at the end of the keys: a decode step (Tq = 1) sees the whole cache, and a chunk of a
 * chunked prefill sees the cache before it plus the causal part of itself.
 *
 * The gpu.js kernels (gpu.ts) cannot call this function from GLSL; they repeat the same two lines.
 */

/** The offset used when the caller gives none: the queries are the last Tq positions of the keys. */
export function defaultQueryOffset(queries: number, keys: number): number {
  return keys - queries;
}

/**
 * End (exclusive) of the keys that query row `row` sees: keys [0, end) are visible. Between 0 and
 * `keys`; 0 means the row sees nothing (its output is zeros).
 */
export function visibleKeyEnd(row: number, keys: number, causal: boolean, queryOffset: number): number {
  if (!causal) return keys;
  return Math.min(keys, Math.max(0, queryOffset + row + 1));
}

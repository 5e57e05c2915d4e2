/**
 * The methods the page offers, matched as docs/results.md matches them on the shapes model: each
 * reduction keeps 16 of the 144 vision tokens from decoder layer 1 on (about 73 % of the decoder's
 * FLOPs removed), so the overlays differ only in *which* 16 tokens survive.
 *
 * - adsc: the uniform grid, with the LoRA adapter fine-tuned under that schedule (reverse curriculum)
 * - adsc-free: the same grid, training-free
 * - fastv: the 16 tokens layer 0's attention ranks highest (K = 1, R = 1 - 16/144)
 * - pdrop: the 16 tokens the last text token's query ranks highest at layer 1 (PyramidDrop, one stage)
 *
 * Any other value of the schedule parameter is taken as a --schedule spec.
 */

export interface Method {
  name: string;
  label: string;
  schedule: string;
  /** The adapter (the site's models/adapters/<name>) the method runs with by default. */
  adapter?: string;
}

export const METHODS: readonly Method[] = [
  { name: 'none', label: 'all 144 vision tokens', schedule: 'none' },
  { name: 'adsc', label: 'ADSC, tuned (adapter a78-reverse)', schedule: 'adsc:1=1/9', adapter: 'a78-reverse' },
  { name: 'adsc-free', label: 'ADSC, training-free', schedule: 'adsc:1=1/9' },
  { name: 'fastv', label: 'FastV (K=1)', schedule: 'fastv:K=1,R=0.8889' },
  { name: 'pdrop', label: 'PyramidDrop (layer 1)', schedule: 'pdrop:layers=1,ratio=0.11112' },
];

/** The schedule spec and adapter a page state's `schedule` and `adapter` parameters mean. */
export function resolveMethod(schedule: string, adapter: string | undefined): { schedule: string; adapter?: string; method?: Method } {
  const method = METHODS.find((m) => m.name === schedule);
  const chosen = adapter === 'none' ? undefined : (adapter ?? method?.adapter);
  return { schedule: method?.schedule ?? schedule, adapter: chosen, method };
}

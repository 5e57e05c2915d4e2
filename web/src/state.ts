/**
 * Everything the page shows follows from one `PageState`, and every state is a URL:
 *
 *   ?seed=7&q=How+many+red+objects+are+there%3F&schedule=adsc&layer=3
 *
 * seed      the scene (`adsc data shapes --seed S --count 1` with the layout below); default 100,
 *           the scene of `pnpm start`
 * q         the question; default: the scene's own generated question
 * schedule  a method of methods.ts (none, adsc, adsc-free, fastv, pdrop) or any --schedule spec
 * adapter   an adapter name, or none; default: the method's (adsc: the one tuned for its schedule)
 * layer     the decoder layer whose vision tokens the overlay shows; default: the last
 * objects   objects per scene, N or MIN-MAX; default 1 (the layout the shapes model was tuned on)
 * sizes     object sizes in px at 168 px, comma-separated; default 42,56,70,84
 * attention webgl (default: gpu.js on WebGL, the CPU kernel where it fails) or cpu
 *
 * Values that do not parse are errors that name the parameter, never silently replaced.
 */

export interface PageState {
  seed: number;
  question?: string;
  schedule: string;
  adapter?: string;
  layer?: number;
  objects: [number, number];
  sizes: number[];
  attention: 'webgl' | 'cpu';
}

export const DEFAULT_STATE: Readonly<PageState> = Object.freeze({
  seed: 100,
  schedule: 'none',
  objects: [1, 1] as [number, number],
  sizes: [42, 56, 70, 84],
  attention: 'webgl' as const,
});

export class StateError extends Error {
  override name = 'StateError';
}

const KNOWN = new Set(['seed', 'q', 'schedule', 'adapter', 'layer', 'objects', 'sizes', 'attention']);

function integer(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new StateError(`URL parameter ${name}=${JSON.stringify(text)}: expected an integer from ${min} to ${max}`);
  }
  return Number(text);
}

/** The state a URL's query string describes (`location.search`, with or without the '?'). */
export function parseState(search: string): PageState {
  const params = new URLSearchParams(search);
  const unknown = [...params.keys()].find((k) => !KNOWN.has(k));
  if (unknown !== undefined) throw new StateError(`unknown URL parameter ${JSON.stringify(unknown)} (known: ${[...KNOWN].join(', ')})`);
  const state: PageState = { ...DEFAULT_STATE, objects: [...DEFAULT_STATE.objects], sizes: [...DEFAULT_STATE.sizes] };
  const get = (name: string) => params.get(name) ?? undefined;

  const seed = get('seed');
  if (seed !== undefined) state.seed = integer('seed', seed, 0, 0xffffffff);
  const q = get('q')?.trim();
  if (q) state.question = q;
  const schedule = get('schedule')?.trim();
  if (schedule) state.schedule = schedule;
  const adapter = get('adapter')?.trim();
  if (adapter) state.adapter = adapter;
  const layer = get('layer');
  if (layer !== undefined) state.layer = integer('layer', layer, 0, 1000);
  const objects = get('objects');
  if (objects !== undefined) {
    const [lo, hi = lo] = objects.split('-');
    state.objects = [integer('objects', lo, 1, 12), integer('objects', hi, 1, 12)];
    if (state.objects[0] > state.objects[1]) throw new StateError(`URL parameter objects=${JSON.stringify(objects)}: MIN is above MAX`);
  }
  const sizes = get('sizes');
  if (sizes !== undefined) state.sizes = sizes.split(',').map((s) => integer('sizes', s.trim(), 8, 84));
  const attention = get('attention');
  if (attention !== undefined) {
    if (attention !== 'webgl' && attention !== 'cpu') throw new StateError(`URL parameter attention=${JSON.stringify(attention)}: expected webgl or cpu`);
    state.attention = attention;
  }
  return state;
}

/** The query string of `state`, defaults left out ('' when everything is a default). */
export function formatState(state: PageState): string {
  const params = new URLSearchParams();
  if (state.seed !== DEFAULT_STATE.seed) params.set('seed', String(state.seed));
  if (state.question !== undefined) params.set('q', state.question);
  if (state.schedule !== DEFAULT_STATE.schedule) params.set('schedule', state.schedule);
  if (state.adapter !== undefined) params.set('adapter', state.adapter);
  if (state.layer !== undefined) params.set('layer', String(state.layer));
  const [lo, hi] = state.objects;
  if (lo !== DEFAULT_STATE.objects[0] || hi !== DEFAULT_STATE.objects[1]) params.set('objects', lo === hi ? String(lo) : `${lo}-${hi}`);
  if (state.sizes.join(',') !== DEFAULT_STATE.sizes.join(',')) params.set('sizes', state.sizes.join(','));
  if (state.attention !== DEFAULT_STATE.attention) params.set('attention', state.attention);
  const text = params.toString();
  return text ? `?${text}` : '';
}

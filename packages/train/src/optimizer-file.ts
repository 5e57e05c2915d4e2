/**
 * An optimizer's state on disk: one safetensors file whose tensors are the buffers
 * (`<parameter>.exp_avg` ...) and whose "__metadata__" holds the small JSON of step counts and
 * hyperparameters under the key "adsc_optimizer". One file, so the save is one atomic rename:
 * an interrupted save leaves the previous state whole.
 */
import { SafetensorsFile, save } from '@adsc/safetensors';
import type { OptimizerState } from './optim.js';

const METADATA_KEY = 'adsc_optimizer';

export function saveOptimizerState(path: string, state: OptimizerState): void {
  const meta = { kind: state.kind, hyper: state.hyper, steps: state.steps };
  save(path, state.tensors, { [METADATA_KEY]: JSON.stringify(meta) });
}

export function readOptimizerState(path: string): OptimizerState {
  const file = SafetensorsFile.open(path);
  try {
    const text = file.metadata[METADATA_KEY];
    if (text === undefined) throw new Error(`${path}: not an optimizer state (no "${METADATA_KEY}" metadata)`);
    let meta: { kind?: unknown; hyper?: unknown; steps?: unknown };
    try {
      meta = JSON.parse(text) as typeof meta;
    } catch (e) {
      throw new Error(`${path}: "${METADATA_KEY}" metadata is not JSON (${(e as Error).message})`);
    }
    if ((meta.kind !== 'adamw' && meta.kind !== 'sgd') || !isNumberRecord(meta.hyper) || !isNumberRecord(meta.steps)) {
      throw new Error(`${path}: "${METADATA_KEY}" metadata must hold kind ("adamw" | "sgd"), hyper and steps`);
    }
    const tensors = Object.fromEntries(file.names().map((name) => [name, file.tensor(name)]));
    return { kind: meta.kind, hyper: meta.hyper, steps: meta.steps, tensors };
  } finally {
    file.close();
  }
}

function isNumberRecord(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'number');
}

/**
 * Turns an `adsc train` checkpoint into a model directory to ship: the weights in f16 (half the
 * bytes; what examples/shapes-llava commits), config.json saying so, and the tokenizer and
 * preprocessor files. The optimizer state and trainer_state.json stay behind. The directory is
 * written whole or not at all (a temporary sibling renamed at the end).
 *
 *   npx tsx packages/shapes/scripts/export-model.ts CHECKPOINT_DIR OUT_DIR [--dtype f16|bf16|f32] [--note TEXT]
 *
 * --note is stored in the safetensors metadata; `adsc run` prints it.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DType, Tensor } from '@adsc/core';
import { openCheckpoint, save } from '@adsc/safetensors';

const { values, positionals } = parseArgs({ options: { dtype: { type: 'string', default: 'f16' }, note: { type: 'string' } }, allowPositionals: true });
const [from, out] = positionals;
const TORCH_DTYPE: Record<string, string> = { f16: 'float16', bf16: 'bfloat16', f32: 'float32' };
if (!from || !out || !(values.dtype! in TORCH_DTYPE)) {
  console.error('usage: export-model.ts CHECKPOINT_DIR OUT_DIR [--dtype f16|bf16|f32] [--note TEXT]');
  process.exit(2);
}
const dtype = values.dtype as DType;
const COPIED = ['generation_config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'];

const checkpoint = openCheckpoint(from);
const tensors: Record<string, Tensor> = {};
for (const name of checkpoint.names()) tensors[name] = checkpoint.tensor(name).to(dtype);
checkpoint.close();

const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
try {
  save(join(tmp, 'model.safetensors'), tensors, { format: 'pt', adsc_exported_from: basename(from), ...(values.note ? { note: values.note } : {}) });
  const config = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8'));
  config.torch_dtype = TORCH_DTYPE[dtype];
  writeFileSync(join(tmp, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const f of COPIED) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(tmp, f));
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`wrote ${out}: ${Object.keys(tensors).length} tensors in ${dtype}`);

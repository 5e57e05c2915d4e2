/**
 * A copy of a model directory with the query and key projections of chosen decoder layers drawn
 * afresh (normal, std = the config's initializer_range): the layers' attention patterns are
 * forgotten, everything else kept. docs/shapes.md 3l: layer 4 of the one-object decoder reads the
 * first object whichever the question names; this removes that head before a multi-object stage.
 *
 *   npx tsx packages/shapes/scripts/reinit-attention.ts FROM_DIR OUT_DIR LAYER[,LAYER...] SEED
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mul, randn, tensor, type Tensor } from '@adsc/core';
import { openCheckpoint, save } from '@adsc/safetensors';

const [from, out, layersText, seedText] = process.argv.slice(2);
if (!from || !out || !layersText || !seedText || existsSync(out)) {
  console.error('usage: reinit-attention.ts FROM_DIR OUT_DIR LAYER[,LAYER...] SEED (OUT_DIR must not exist)');
  process.exit(2);
}
const config = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8')) as { text_config: { initializer_range?: number } };
const std = config.text_config.initializer_range ?? 0.02;
const source = openCheckpoint(from);
const named: Record<string, Tensor> = Object.fromEntries(source.names().map((n) => [n, source.tensor(n)]));
const layers = layersText.split(',').map(Number);
let seed = Number(seedText);
const redrawn: string[] = [];
for (const name of Object.keys(named)) {
  const m = /layers\.(\d+)\.self_attn\.(q|k)_proj\.weight$/.exec(name);
  if (!m || !layers.includes(Number(m[1])) || name.includes('vision')) continue;
  const t = named[name];
  named[name] = mul(randn(t.shape, seed++), tensor([std], [1])).to(t.dtype);
  redrawn.push(name);
}
if (redrawn.length !== 2 * layers.length) {
  console.error(`error: found ${redrawn.length} q/k projections for layers ${layers.join(',')} in ${from}`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });
save(join(out, 'model.safetensors'), named, { format: 'pt', adsc_reinit_attention: `${redrawn.join(', ')} (std ${std}, seed ${seedText})` });
for (const f of readdirSync(from)) if (f.endsWith('.json') && f !== 'trainer_state.json') copyFileSync(join(from, f), join(out, f));
console.log(`wrote ${out}: redrew ${redrawn.join(', ')}`);

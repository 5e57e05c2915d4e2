/**
 * `pnpm start`: the trained shapes-llava (examples/shapes-llava/checkpoints/binding) answers a
 * question about a bundled scene three times through `adsc run`, which prints the answer, the
 * tokens per layer, the counted FLOPs and the KV cache of each run:
 *
 *   1. with all 144 vision tokens in every decoder layer;
 *   2. under the ADSC schedule ADAPTER was tuned for, training-free (no adapter);
 *   3. under the same schedule with the LoRA adapter ADSC fine-tuning made for it.
 *
 * The scene is examples/shapes-llava/demo.png and its question and right answer are in demo.json:
 * record 0 of `adsc data shapes --seed 100 --count 1 --objects 1 --sizes 42,56,70,84` (a seed
 * nothing was trained or evaluated on). docs/results.md has the accuracies over 2,000 questions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/main.js';

const root = new URL('../../../', import.meta.url).pathname;
const example = join(root, 'examples/shapes-llava');
const BASE = 'checkpoints/binding';
const ADAPTER = 'adapters/a85-reverse-2400';
const model = join(example, BASE);
const adapter = join(model, ADAPTER);
const schedule = (JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8')) as { adsc_schedule: string }).adsc_schedule;
const [record] = JSON.parse(readFileSync(join(example, 'demo.json'), 'utf8')) as { image: string; conversations: { value: string }[] }[];
const question = record.conversations[0].value.replace('<image>', '').trim();
const image = join(example, record.image);

console.log(`Shapes VQA: examples/shapes-llava/${record.image}, "${question}" (right answer: ${record.conversations[1].value})`);
const runs: [string, string[]][] = [
  ['all vision tokens', ['--schedule', 'none']],
  [`ADSC ${schedule}, training-free`, ['--schedule', schedule]],
  [`ADSC ${schedule}, with the adapter tuned for it (${BASE}/${ADAPTER})`, ['--adapter', adapter]],
];
for (const [title, flags] of runs) {
  console.log(`\n=== ${title} ===`);
  const code = await main(['run', '--model', model, '--image', image, '--prompt', question, '--max-new-tokens', '3', ...flags]);
  if (code !== 0) process.exit(code);
}

/**
 * `adsc data shapes --seed S --count N --out DIR [--image-size PX] [--turns K] [--objects MIN-MAX] [--sizes PX,PX]
 *                   [--types T,T]`
 *
 * Writes a Shapes VQA set (@adsc/shapes): DIR/questions.json in LLaVA's conversation format and
 * DIR/images/*.png, all at once (a temporary directory renamed to DIR), then prints how many
 * questions of each type it wrote and each type's chance level (the most frequent answer's share).
 */
import { parseArgs } from 'node:util';
import { answerCounts, majorityShare } from '@adsc/eval';
import {
  BASE_IMAGE_SIZE, LayoutError, MAX_IMAGE_SIZE, MAX_TURNS, MIN_IMAGE_SIZE, QUESTION_TYPES, describeLayout, parseLayout, parseTypes, writeShapes,
} from '@adsc/shapes';
import { UsageError } from './errors.js';
import { integerFlag } from './args.js';

export function data(argv: string[], out: (line: string) => void): void {
  const [generator, ...rest] = argv;
  if (generator !== 'shapes') throw new UsageError(`adsc data needs a generator: shapes (got ${JSON.stringify(generator ?? '')})`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { seed: { type: 'string' }, count: { type: 'string' }, out: { type: 'string' }, 'image-size': { type: 'string' }, turns: { type: 'string' }, objects: { type: 'string' }, sizes: { type: 'string' }, types: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`adsc data shapes takes no positional arguments, got ${JSON.stringify(positionals[0])}`);
  const need = (flag: 'seed' | 'count' | 'out', what: string): string => {
    if (values[flag] === undefined) throw new UsageError(`adsc data shapes needs --${flag} ${what}`);
    return values[flag];
  };
  const seed = integerFlag('--seed', need('seed', 'S'), { max: 2 ** 32 - 1 });
  const count = integerFlag('--count', need('count', 'N'), { min: 1, max: 1e7 });
  const dir = need('out', 'DIR');
  const imageSize = values['image-size'] === undefined ? BASE_IMAGE_SIZE : integerFlag('--image-size', values['image-size'], { min: MIN_IMAGE_SIZE, max: MAX_IMAGE_SIZE });

  const turns = values.turns === undefined ? 1 : integerFlag('--turns', values.turns, { min: 1, max: MAX_TURNS });

  const layout = usage(() => parseLayout(values.objects, values.sizes));
  const types = usage(() => parseTypes(values.types));

  const records = writeShapes(dir, { seed, count, imageSize, turns, layout, types });
  const counts = answerCounts(records);
  const more = turns > 1 ? ` and ${records.reduce((n, r) => n + r.followUps.length, 0)} follow-up questions` : '';
  out(`wrote ${records.length} questions${more} and images to ${dir} (seed ${seed}, ${imageSize} px, ${describeLayout(layout)})`);
  out('type     questions  answers  chance (most frequent answer)');
  for (const type of QUESTION_TYPES.filter((t) => counts[t])) {
    const answers = Object.keys(counts[type]).length;
    out(`${type.padEnd(8)} ${String(Object.values(counts[type]).reduce((s, n) => s + n, 0)).padStart(9)}  ${String(answers).padStart(7)}  ${(100 * majorityShare(counts[type])).toFixed(1)} %`);
  }
}

/** `f()`, with a bad --objects, --sizes or --types reported as a usage mistake (exit 2, one line). */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof LayoutError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * The `adsc` command line. One file per command; this one only dispatches and turns every failure
 * into one line on stderr with exit code 2.
 *
 *   adsc inspect PATH [--json] [--tensor NAME]
 *   adsc run --model DIR [--image FILE] (--prompt TEXT | --input-ids 1,2,3) [--max-new-tokens N] ...
 *   adsc flops --config (llava-1.5-7b | DIR) --schedule SPEC [--text-tokens N] [--formula exact|fastv] ...
 *   adsc data shapes --seed S --count N --out DIR [--image-size PX] [--turns K] [--objects MIN-MAX] [--sizes PX,PX]
 *                    [--types T,T]
 *   adsc eval --model DIR --data FILE [...] | adsc eval --merge A.json B.json ...
 */
import { parseArgs } from 'node:util';
import { integerFlag, numberFlag } from './args.js';
import { data } from './data.js';
import { UsageError, errorLine } from './errors.js';
import { evalCommand } from './eval.js';
import { flops } from './flops.js';
import { inspect } from './inspect.js';
import { run } from './run.js';
import { TRAIN_USAGE, trainCommand } from './train.js';

const USAGE = `usage:
  adsc inspect PATH [--json] [--tensor NAME]
      list a .safetensors file or model directory
  adsc run --model DIR [--image FILE] (--prompt TEXT | --input-ids 1,2,3) [--max-new-tokens N]
           [--schedule SPEC] [--adapter DIR] [--temperature T] [--top-p P] [--seed S] [--threads N]
           [--positions original|renumber] [--template llava-hf|vicuna_v1] [--force] [--json]
      run LLaVA-1.5 on an image and a prompt, optionally with a token-reduction schedule
      (--force loads a model that the memory plan says will not fit)
  adsc flops --config (llava-1.5-7b | llava-1.5-13b | DIR) --schedule SPEC [--text-tokens N]
             [--formula exact|fastv] [--positions original|renumber] [--json] [--plot]
      count a schedule's FLOPs and KV cache against the unreduced model
  adsc data shapes --seed S --count N --out DIR [--image-size PX] [--turns K] [--objects MIN-MAX] [--sizes PX,PX]
                   [--types color,shape,count,exists,left,above]
      write a Shapes VQA set: DIR/questions.json (LLaVA conversations) and DIR/images/*.png;
      --turns K adds K-1 follow-up questions per image (training data); --objects and --sizes
      (px at 168 px) make easier scenes for early training stages (default 3-6 of 20,28);
      --types asks only questions of those types
  adsc eval --model DIR [--adapter DIR] --data FILE [--image-folder DIR] [--schedule SPEC] [--blind]
            [--limit N] [--threads N] [--shard I/N] [--predictions FILE] [--json]
  adsc eval --merge A.json B.json ... [--json]
      accuracy per question type, counted FLOPs and KV per question; merge shard reports;
      --predictions writes each question's answer and prediction as JSON lines

${TRAIN_USAGE}

schedules: none | adsc | fastv | pdrop | adsc:L=r,... | fastv:K=k,R=r | pdrop:layers=a,b,c,ratio=r`;

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], out = (l: string) => console.log(l), err = (l: string) => console.error(l)): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
      out(USAGE); // `adsc train --help` and the like: the usage, not a flag error
      return 0;
    }
    switch (command) {
      case 'inspect': {
        const { values, positionals } = parseArgs({
          args: rest,
          options: { json: { type: 'boolean', default: false }, tensor: { type: 'string' } },
          allowPositionals: true,
        });
        if (positionals.length !== 1) throw new UsageError('adsc inspect takes exactly one PATH');
        inspect(positionals[0], { json: values.json, tensor: values.tensor }, out);
        return 0;
      }
      case 'run': {
        const { values, positionals } = parseArgs({
          args: rest,
          options: {
            model: { type: 'string' },
            image: { type: 'string' },
            prompt: { type: 'string' },
            'input-ids': { type: 'string' },
            'max-new-tokens': { type: 'string', default: '32' },
            schedule: { type: 'string' },
            adapter: { type: 'string' },
            temperature: { type: 'string', default: '0' },
            'top-p': { type: 'string', default: '1' },
            seed: { type: 'string', default: '0' },
            threads: { type: 'string' },
            template: { type: 'string' },
            positions: { type: 'string' },
            force: { type: 'boolean', default: false },
            json: { type: 'boolean', default: false },
          },
          allowPositionals: false,
        });
        if (positionals.length > 0 || values.model === undefined) throw new UsageError('adsc run needs --model DIR');
        run(
          {
            model: values.model,
            image: values.image,
            prompt: values.prompt,
            inputIds: values['input-ids'],
            maxNewTokens: integerFlag('--max-new-tokens', values['max-new-tokens'], { min: 1 }),
            schedule: values.schedule,
            adapter: values.adapter,
            temperature: numberFlag('--temperature', values.temperature, { min: 0, max: 100 }),
            topP: numberFlag('--top-p', values['top-p'], { min: 0, max: 1, minExclusive: true }),
            seed: integerFlag('--seed', values.seed, { max: 2 ** 32 - 1 }),
            threads: values.threads === undefined ? undefined : integerFlag('--threads', values.threads, { min: 1 }),
            template: values.template,
            positions: values.positions,
            force: values.force,
            json: values.json,
          },
          out,
          err,
        );
        return 0;
      }
      case 'train':
        trainCommand(rest, out, err);
        return 0;
      case 'flops': {
        const { values } = parseArgs({
          args: rest,
          options: {
            config: { type: 'string' },
            schedule: { type: 'string', default: 'adsc' },
            'text-tokens': { type: 'string', default: '64' },
            formula: { type: 'string', default: 'exact' },
            positions: { type: 'string' },
            json: { type: 'boolean', default: false },
            plot: { type: 'boolean', default: false },
          },
          allowPositionals: false,
        });
        if (values.config === undefined) throw new UsageError('adsc flops needs --config (llava-1.5-7b, llava-1.5-13b or a model directory)');
        flops(
          {
            config: values.config,
            schedule: values.schedule,
            textTokens: integerFlag('--text-tokens', values['text-tokens']),
            formula: values.formula,
            positions: values.positions,
            json: values.json,
            plot: values.plot,
          },
          out,
        );
        return 0;
      }
      case 'data':
        data(rest, out);
        return 0;
      case 'eval':
        evalCommand(rest, out, err);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)} (adsc help lists the commands)`);
    }
  } catch (e) {
    err(errorLine(e));
    return 2;
  }
}

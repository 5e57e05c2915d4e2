/**
 * `adsc eval --model DIR [--adapter DIR] --data FILE [--image-folder DIR] [--schedule SPEC] [--blind]
 *            [--limit N] [--threads N] [--shard I/N] [--predictions FILE] [--json]`
 * `adsc eval --merge A.json B.json ... [--json]`
 *
 * Evaluates a LLaVA checkpoint on a VQA set in LLaVA's conversation format (@adsc/eval): greedy
 * answers, exact match, accuracy overall and per question type next to each type's chance level,
 * the counted prefill FLOPs and KV per question and their reduction against no schedule, wall
 * time; a progress bar on stderr when stderr is a terminal. `--adapter` applies a PEFT LoRA adapter
 * to the loaded model, and its `adsc_schedule` is the default schedule. `--json` prints the report
 * that `--merge` reads: shards evaluated anywhere merge into exactly the unsharded result.
 * `--predictions FILE` writes one JSON line per question (`id`, `type`, `question`, `answer`,
 * `prediction`, `correct`), whole or not at all, for looking at what a model gets wrong.
 */
import { existsSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { setNumThreads } from '@adsc/core';
import { ReportError, evaluate, mergeReports, readDataset, readReport, shard, toReport, type EvalReport } from '@adsc/eval';
import { Llava, LlavaTokenizer, cappedThreads, parseSchedule, readConfig } from '@adsc/model';
import { writeAtomically } from '@adsc/safetensors';
import { applyAdapter, loadAdapter } from '@adsc/train';
import { integerFlag } from './args.js';
import { UsageError } from './errors.js';

export function evalCommand(argv: string[], out: (line: string) => void, err: (line: string) => void = () => {}, progress = terminalProgress()): void {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      adapter: { type: 'string' },
      data: { type: 'string' },
      'image-folder': { type: 'string' },
      schedule: { type: 'string' },
      blind: { type: 'boolean', default: false },
      limit: { type: 'string' },
      threads: { type: 'string' },
      shard: { type: 'string' },
      predictions: { type: 'string' },
      json: { type: 'boolean', default: false },
      merge: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const print = (report: EvalReport) => (values.json ? out(JSON.stringify(report)) : describe(report, out));

  if (values.merge) {
    if (positionals.length === 0) throw new UsageError('adsc eval --merge needs the report files of the shards (A.json B.json ...)');
    const given = ['model', 'adapter', 'data', 'image-folder', 'schedule', 'limit', 'shard', 'threads', 'predictions'].filter((k) => values[k as keyof typeof values] !== undefined);
    if (given.length > 0 || values.blind) throw new UsageError(`adsc eval --merge only reads reports; --${given[0] ?? 'blind'} does not apply`);
    print(mergeReports(positionals.map((file) => ({ source: file, ...readReport(readJson(file), file) }))));
    return;
  }
  if (positionals.length > 0) throw new UsageError(`adsc eval takes no positional arguments (report files go with --merge), got ${JSON.stringify(positionals[0])}`);
  if (values.model === undefined) throw new UsageError('adsc eval needs --model DIR');
  if (values.data === undefined) throw new UsageError('adsc eval needs --data FILE');
  const [modelDir, dataFile] = [values.model, values.data];
  if (!existsSync(modelDir)) throw new UsageError(`--model ${modelDir}: no such directory`);
  if (values.predictions !== undefined && !existsSync(dirname(values.predictions))) {
    throw new UsageError(`--predictions ${values.predictions}: its folder ${dirname(values.predictions)} does not exist`);
  }
  const limit = values.limit === undefined ? null : integerFlag('--limit', values.limit, { min: 1 });
  const [index, count] = values.shard === undefined ? [0, 1] : parseShard(values.shard);
  if (values.threads !== undefined) {
    const { threads, note } = cappedThreads(integerFlag('--threads', values.threads, { min: 1, max: 1024 }));
    if (note) err(`note: ${note}`);
    setNumThreads(threads);
  }

  const all = readDataset(dataFile);
  const selected = limit === null ? all : all.slice(0, limit);
  const records = shard(selected, index, count);
  // What small files can refuse is checked before the weights are read.
  const cfg = readConfig(modelDir);
  const adapter = values.adapter === undefined ? undefined : loadAdapter(values.adapter);
  const schedule = parseSchedule(values.schedule ?? adapter?.config.adscSchedule ?? 'none', { numLayers: cfg.text.numLayers });
  const tokenizer = LlavaTokenizer.load(modelDir, cfg.imageTokenIndex, cfg.bosTokenId);
  const model = Llava.load(modelDir);
  if (adapter !== undefined) applyAdapter(model, adapter, values.adapter);
  const predictions: string[] = []; // JSON lines, kept only for --predictions
  const tally = evaluate(model, tokenizer, records, {
    imageFolder: values['image-folder'] ?? dirname(dataFile),
    schedule,
    blind: values.blind,
    onScored: (record, { prediction, correct }, done) => {
      if (values.predictions !== undefined) {
        predictions.push(`${JSON.stringify({ id: record.id, type: record.type, question: record.question, answer: record.answer, prediction, correct })}\n`);
      }
      progress(done, records.length);
    },
  });
  progress(records.length, records.length, true);
  if (values.predictions !== undefined) writePredictions(values.predictions, predictions.join(''));
  print(
    toReport(tally, {
      model: modelDir,
      adapter: values.adapter ?? null,
      data: dataFile,
      schedule: schedule.spec,
      blind: values.blind,
      limit,
      records: selected.length,
      shards: values.shard === undefined ? null : { of: count, indices: [index] },
    }),
  );
}

/** The --predictions file, written whole or not at all. */
function writePredictions(file: string, text: string): void {
  try {
    writeAtomically(file, (fd) => writeSync(fd, text));
  } catch (e) {
    throw new UsageError(`--predictions ${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function parseShard(text: string): [number, number] {
  const m = /^(\d{1,9})\/(\d{1,9})$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) {
    throw new UsageError(`--shard must be I/N with 0 <= I < N (shard I of N, 0-based), got ${JSON.stringify(text)}`);
  }
  return [Number(m[1]), Number(m[2])];
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ReportError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ReportError(`${file}: not JSON (${(e as Error).message})`);
  }
}

const percent = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The report as a table: accuracy per type beside the chance level, then cost and time. */
function describe(r: EvalReport, out: (line: string) => void): void {
  const shards = r.shards === null ? '' : `, shards ${r.shards.indices.join(',')} of ${r.shards.of}`;
  out(`model: ${r.model}${r.adapter === null ? '' : ` + adapter ${r.adapter}`}   data: ${r.data} (${r.count} of ${r.records} questions${shards})`);
  out(`schedule: ${r.schedule}${r.blind ? '   blind: every image replaced by zero pixel values (the mean colour)' : ''}`);
  out('');
  out('type       questions  correct  accuracy    chance');
  for (const type of Object.keys(r.per_type)) {
    out(`${type.padEnd(10)} ${String(r.per_type_count[type]).padStart(9)} ${String(r.per_type_correct[type]).padStart(8)} ${percent(r.per_type[type]).padStart(9)} ${percent(r.chance[type]).padStart(9)}`);
  }
  out(`${'all'.padEnd(10)} ${String(r.count).padStart(9)} ${String(r.correct).padStart(8)} ${percent(r.accuracy).padStart(9)}`);
  out('');
  out(`prefill FLOPs per question (counted): ${(r.flops_per_question / 1e6).toFixed(2)} MFLOP, ${percent(r.flops_reduction)} fewer than without a schedule`);
  out(`  in the decoder layers alone: ${percent(r.decoder_flops_reduction)} fewer (the vision tower is never reduced)`);
  out(`KV cache per question: ${Math.round(r.kv_per_question).toLocaleString('en-US')} elements, ${percent(r.kv_reduction)} fewer than without a schedule`);
  out(`time: ${r.seconds.toFixed(1)} s (${r.count ? ((1000 * r.seconds) / r.count).toFixed(0) : 0} ms per question)`);
}

/** A progress bar on stderr that redraws in place; silent when stderr is not a terminal. */
function terminalProgress(): (done: number, total: number, finished?: boolean) => void {
  if (!process.stderr.isTTY) return () => {};
  const start = performance.now();
  return (done, total, finished = false) => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((width * done) / total);
    const seconds = (performance.now() - start) / 1000;
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${seconds.toFixed(1)} s`);
    if (finished) process.stderr.write('\n');
  };
}

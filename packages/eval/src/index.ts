/**
 * @adsc/eval: evaluate a LLaVA model on a VQA set in LLaVA's conversation format: greedy answers,
 * exact-match accuracy overall and per question type, counted FLOPs and KV against no schedule,
 * blind runs, shards and the exact merge of their reports.
 */
export { DatasetError, readDataset, type EvalRecord } from './dataset.js';
export { blindPixels, evaluate, shard, type EvaluateOptions } from './evaluate.js';
export {
  addScored, answerCounts, emptyTally, isCorrect, majorityShare, mergeTallies,
  type CostTally, type Scored, type Tally, type TypeTally,
} from './score.js';
export { ReportError, mergeReports, readReport, toReport, type EvalReport, type RunInfo, type Shards } from './report.js';

/**
 * @adsc/model: LLaVA-1.5 in TypeScript (CLIP vision tower, projector, Llama decoder with a
 * per-layer KV cache), image preprocessing, tokenizer and prompt templates, generation.
 */
export { ConfigError, MAX_JSON_FILE_BYTES, PRESETS, imageFeatureCount, numPatches, parseConfig, readConfig, readJsonFile, resolveConfig } from './config.js';
export type { LlavaConfig, TextConfig, VisionConfig } from './config.js';
export { Weights, WeightError, memoized, tensorMap, type TensorSource } from './weights.js';
export { rope, ropeTables, tokenPositions, type RopeTables, type TokenPositions } from './rope.js';
export { applyLinear, loadLinear, type Linear, type LoraWeights } from './linear.js';
export { CACHE_ARENA_MIN_BYTES, KVCache, LayerCache } from './kv-cache.js';
export { DecoderLayer, LlamaDecoder } from './llama.js';
export { ClipEncoderLayer, ClipVisionTower } from './clip.js';
export { Projector } from './projector.js';
export { PromptError, mergeImage, range, stemLength, withBranches, type Sequence } from './sequence.js';
export { Llava, checkpointBytes, type DecoderRun, type DecoderRunOptions, type ImageInput, type LoadOptions, type PatchWords, type PrefillResult } from './llava.js';
export { IGNORE_INDEX, labelCount, lmLoss, type LabelledExample, type LossOptions, type LossResult } from './lm-loss.js';
export {
  LimitError, MAX_RESIZE_FACTOR, PIL_MAX_IMAGE_PIXELS, availableMemory, cappedThreads, checkContext, checkImageDimensions, checkMemoryPlan,
  checkPreprocessorSizes, formatBytes, maxImagePixels, planMemory, promptPositions, type MemoryBudget, type MemoryPlan,
} from './limits.js';
export { argmax, generate, sampler, type GenerateOptions, type GenerateResult, type Timings } from './generate.js';
export { LlavaTokenizer, TokenizerError, formatPrompt, type TemplateName } from './tokenizer.js';
export { NO_SCHEDULE, keepVision, stagedPlan, topKInOrder, type LayerContext, type PositionMode, type Schedule } from './schedule/schedule.js';
export { ADSC_PRESET, FASTV_PRESET, PDROP_PRESET, ScheduleError, parseSchedule, type ScheduleOptions } from './schedule/parse.js';
export { adscSchedule, keptCount, uniformIndices, type AdscEntry, type Ratio } from './schedule/adsc.js';
export { fastvKeep, fastvSchedule } from './schedule/fastv.js';
export { lastTokenScores, pdropKeep, pdropSchedule } from './schedule/pdrop.js';
export { ImageError, MAX_IMAGE_FILE_BYTES, checkRgbImage, createRgbImage, decodeImage, readImage, type RgbImage } from './image.js';
export {
  LLAVA_PREPROCESSOR_CONFIG, centerCrop, expandToSquare, padColor, parsePreprocessorConfig, preprocessImage,
  preprocessorFor, readPreprocessorConfig, resizeBicubic, shortestEdgeSize, visionInput, type PreprocessOptions, type PreprocessorConfig,
} from './preprocess.js';
export {
  countPrefill, countRun, countSchedule, decoderLayerFlops, lastTokenRankingFlops, projectorFlops, rankingStages, visionTowerFlops,
  type Formula, type LayerCount, type PrefillCount, type PrefillRun, type ScheduleCount,
} from './accounting.js';

/**
 * @adsc/train: what a training loop needs around the model's backward pass: optimizers and
 * gradient clipping, learning-rate schedules, a seeded data order, LLaVA training data, and LoRA
 * adapters in Hugging Face PEFT's file format.
 */
export {
  AdamW, Sgd, clipGradNorm, defaultDecay, gradNorm, type AdamWOptions, type OptimizerState, type Parameter, type SgdOptions,
} from './optim.js';
export { readOptimizerState, saveOptimizerState } from './optimizer-file.js';
export { learningRate, type LrScheduleName, type LrScheduleOptions } from './lr.js';
export { batchAt, batchesPerEpoch, epochOrder, type DataOrderOptions } from './order.js';
export {
  ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, AdapterError, initLoraA, loadAdapter, parseAdapter, saveAdapter,
  type LoraAdapterFile, type LoraConfig, type LoraModule,
} from './peft.js';
export { DataError, IGNORE_INDEX, readTrainingData, type TrainingDataOptions, type TrainingExample } from './data.js';
export { LORA_TARGETS, applyAdapter, attachNewLora, decoderLinears, removeAdapters, type LoraTarget } from './lora.js';
export {
  OPTIMIZER_FILE, PARTS, TRAINER_STATE_FILE, TrainError, partOf, readTrainerState, train,
  type LoraOptions, type Part, type StepInfo, type TrainOptions, type TrainReport,
} from './trainer.js';

/**
 * @adsc/safetensors: a streaming, validating safetensors reader and writer, and sharded
 * checkpoints (model.safetensors.index.json + shards) opened as one name -> tensor map.
 */
export { SafetensorsError, type SafetensorsErrorCode } from './errors.js';
export { dtypeBits, fromCoreDType, isSafetensorsDType, toCoreDType, type SafetensorsDType } from './dtypes.js';
export {
  HEADER_LENGTH_BYTES, MAX_HEADER_LENGTH, METADATA_KEY, decodeHeader, parseHeader, readHeaderLength,
  type SafetensorsHeader, type TensorInfo,
} from './header.js';
export { SafetensorsBytes, SafetensorsEntries } from './bytes.js';
export { SafetensorsFile } from './file.js';
export { FileError, openRegularFile, readRegularFile, type FileErrorCode, type RegularFile } from './regular-file.js';
export {
  INDEX_FILE, MAX_INDEX_BYTES, SINGLE_FILE, openCheckpoint, type Checkpoint, type CheckpointTensorInfo, type ShardIndex,
} from './checkpoint.js';
export { save, saveSharded, writeAtomically } from './write.js';

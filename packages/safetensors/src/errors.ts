/**
 * The one error type of this package.
 *
 * `code` is the name of the reference Rust reader's error variant (SafeTensorError::HeaderTooSmall
 * and so on), so a failure here can be looked up in the format's own documentation. A few codes are
 * this project's own: DuplicateTensorName (the reference silently keeps one of two entries with the
 * same name), NotRegularFile (a FIFO, device or directory where a file belongs: refused before it
 * is read), UnsupportedDType (a dtype that parses but that @adsc/core cannot hold), and the
 * checkpoint-level codes for index files and shards.
 */

export type SafetensorsErrorCode =
  // The reference reader's variants, in the order its checks run.
  | 'HeaderTooSmall'
  | 'HeaderTooLarge'
  | 'InvalidHeaderLength'
  | 'InvalidHeader'
  | 'InvalidHeaderDeserialization'
  | 'InvalidOffset'
  | 'ValidationOverflow'
  | 'MisalignedSlice'
  | 'TensorInvalidInfo'
  | 'MetadataIncompleteBuffer'
  | 'TensorNotFound'
  | 'IoError'
  // This project's own.
  | 'DuplicateTensorName'
  | 'NotRegularFile'
  | 'UnsupportedDType'
  | 'CheckpointNotFound'
  | 'InvalidIndex'
  | 'MissingShard'
  | 'IndexMismatch';

export interface ErrorPlace {
  /** The file at fault (a .safetensors file or an index .json). */
  file: string;
  /** The tensor at fault, when there is one. */
  tensor?: string;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  readonly code: SafetensorsErrorCode;
  readonly file: string;
  readonly tensor: string | undefined;

  /** The message reads `<code>: <file>, tensor "<name>": <detail>`. */
  constructor(code: SafetensorsErrorCode, place: ErrorPlace, detail: string) {
    const where = place.tensor === undefined ? place.file : `${place.file}, tensor ${JSON.stringify(place.tensor)}`;
    super(`${code}: ${where}: ${detail}`);
    this.code = code;
    this.file = place.file;
    this.tensor = place.tensor;
  }
}

/**
 * Training data: LLaVA's conversation JSON and pre-tokenized JSONL, read, validated and turned into
 * token ids with labels in Hugging Face's convention (labels aligned with input_ids, the model
 * shifts; -100 ignored).
 *
 * Conversations are laid out as LLaVA's conversation template v1 (conv_vicuna_v1, separator style
 * TWO) lays them out: the system prompt and one space (vicuna_v1 only; the llava-hf template has
 * none), then per turn "USER: {question} ASSISTANT: {reply}</s>", with no separator after "</s>".
 * The image placeholder moves to the front of its message as "<image>\n", as LLaVA's
 * preprocess_multimodal does. Masking is LLaVA's preprocess_v1: every label is -100 except the
 * tokens of each reply and the "</s>" that closes it.
 *
 * Where LLaVA tokenizes the whole conversation and recovers the reply boundaries from lengths of
 * separately tokenized pieces (with corrections for tokenizer versions), here the pieces are
 * tokenized separately and concatenated, so the boundaries are exact by construction: the first
 * prompt is `tokenizer.encode(formatPrompt(...))`, the very ids inference feeds the model, and a
 * reply is the tokenization of its text alone, which (through the tokenizer's "▁" prefix) is the
 * ids the model generates after "ASSISTANT:".
 *
 * With `independentTurns` a record of K turns about an image becomes one stem and K branches
 * (model: `withBranches`): the stem is the first prompt up to and including the image token, and
 * branch k is what follows the image token in the single-turn record of question k, its reply and
 * "</s>". Each branch sees the stem and itself only, so no turn can read an answer an earlier turn
 * gave away, and the K answers cost one pass over the image's tokens.
 *
 * A conversation record may give its image as words instead of a file: `"patch_words"`, one string
 * per vision token ("red circle", "" for nothing), whose embeddings are summed in place of the
 * projector's output (Llava.embedPatchWords): pretraining for the decoder on the image's layout.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatPrompt, type LlavaTokenizer, type TemplateName } from '@adsc/model';

export const IGNORE_INDEX = -100;
const IMAGE_PLACEHOLDER = '<image>';

export interface TrainingExample {
  /** The record's "id" (conversation JSON), or "line N" for JSONL records without one. */
  id: string;
  /** The resolved image path. */
  image?: string;
  /** The image as words (a record's "patch_words"): per vision token, the ids of its words. */
  patchWords?: number[][];
  inputIds: number[];
  /** One per input id; IGNORE_INDEX (-100) where no loss is taken. */
  labels: number[];
  /** With `independentTurns`: the lengths of the branches that end `inputIds`, one per turn. */
  branches?: number[];
}

export interface TrainingDataOptions {
  /** Encodes conversations; its imageTokenIndex is the image token of both formats. */
  tokenizer: LlavaTokenizer;
  template: TemplateName;
  /** The "</s>" that closes each reply. */
  eosTokenId: number;
  /** Ids of pre-tokenized records must lie in [0, vocabSize), or be the image token. */
  vocabSize: number;
  /** Image paths are relative to this folder (default: the data file's folder). */
  imageFolder?: string;
  /** The most positions one example may take, counting the image as `visionTokens` positions. */
  maxLength: number;
  /** Positions one image takes once its vision tokens are spliced in (576 for LLaVA-1.5 at 336 px). */
  visionTokens: number;
  /** Lay out each conversation's turns as independent branches after the image (see above). */
  independentTurns?: boolean;
}

/** Bad training data: the message names the file, the record (1-based; the line in JSONL) and the field. */
export class DataError extends Error {
  override name = 'DataError';
  constructor(
    readonly file: string,
    readonly record: number | undefined,
    readonly field: string | undefined,
    detail: string,
  ) {
    super(`${file}${record === undefined ? '' : `: record ${record}`}${field === undefined ? '' : `, field "${field}"`}: ${detail}`);
  }
}

/** Reads `file`: JSONL (".jsonl") as pre-tokenized records, anything else as LLaVA conversation JSON. */
export function readTrainingData(file: string, options: TrainingDataOptions): TrainingExample[] {
  if (!existsSync(file)) throw new DataError(file, undefined, undefined, 'not found');
  const text = readFileSync(file, 'utf8');
  return file.endsWith('.jsonl') ? readTokenized(file, text, options) : readConversations(file, text, options);
}

// -- LLaVA conversation JSON -------------------------------------------------------------------------

function readConversations(file: string, text: string, options: TrainingDataOptions): TrainingExample[] {
  let records: unknown;
  try {
    records = JSON.parse(text);
  } catch (e) {
    throw new DataError(file, undefined, undefined, `not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(records)) throw new DataError(file, undefined, undefined, 'must hold a JSON list of conversation records');
  return records.map((record, i) => conversationExample(new RecordContext(file, i + 1, options), record));
}

/** What LLaVA's data calls the two roles, in the order the turns must alternate. */
const ROLES = ['human', 'gpt'] as const;

function conversationExample(at: RecordContext, record: unknown): TrainingExample {
  const fields = at.object(record);
  const id = fields.id;
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) at.fail('id', 'must be a string or an integer');
  const image = at.image(fields.image);
  const patchWords = at.patchWords(fields.patch_words);
  if (image !== undefined && patchWords !== undefined) at.fail('patch_words', 'the record has an "image" too; give one or the other');
  const pictured = image !== undefined || patchWords !== undefined;
  const imageFields = { ...(image === undefined ? {} : { image }), ...(patchWords === undefined ? {} : { patchWords }) };
  const turns = fields.conversations;
  if (!Array.isArray(turns) || turns.length === 0) at.fail('conversations', 'must be a non-empty list of turns');

  const messages = turns.map((turn, k) => {
    const { from, value } = at.object(turn, `conversations[${k}]`);
    if (from !== 'human' && from !== 'gpt') at.fail(`conversations[${k}].from`, `unknown role ${JSON.stringify(from)} (expected "human" or "gpt")`);
    if (from !== ROLES[k % 2]) at.fail(`conversations[${k}].from`, `is "${from}" but turns must alternate human, gpt, human, ... starting with human`);
    if (typeof value !== 'string') at.fail(`conversations[${k}].value`, 'must be a string');
    return value;
  });
  if (messages.length % 2 !== 0) at.fail(`conversations[${messages.length - 1}]`, 'the last human turn has no gpt reply');
  checkPlaceholders(at, messages, pictured);

  if (at.options.independentTurns) {
    if (!pictured) at.fail('image', 'independent turns branch off an image; this record has none');
    return { id: String(id), ...imageFields, ...branchedExample(at, messages) };
  }
  const { tokenizer, template, eosTokenId } = at.options;
  const inputIds: number[] = [];
  const labels: number[] = [];
  const append = (ids: readonly number[], learn: boolean) => {
    inputIds.push(...ids);
    labels.push(...(learn ? ids : ids.map(() => IGNORE_INDEX)));
  };
  for (let k = 0; k < messages.length; k += 2) {
    if (k === 0) {
      // The first prompt: the system prompt (vicuna_v1), BOS, the image placeholder in front.
      const question = pictured ? messages[0].replace(IMAGE_PLACEHOLDER, '').trim() : messages[0];
      append(tokenizer.encode(formatPrompt(template, question, pictured)), false);
    } else {
      // A later prompt is the same "USER: {q} ASSISTANT:" in both templates, without system prompt.
      append(tokenizer.encodeContinuation(formatPrompt('llava-hf', messages[k], false)), false);
    }
    append([...tokenizer.encodeContinuation(messages[k + 1]), eosTokenId], true);
  }
  at.checkLength('conversations', inputIds.length, pictured);
  return { id: String(id), ...imageFields, inputIds, labels };
}

/** A conversation as one stem (the first prompt through the image token) and one branch per turn. */
function branchedExample(at: RecordContext, messages: readonly string[]): Pick<TrainingExample, 'inputIds' | 'labels' | 'branches'> {
  const { tokenizer, template, eosTokenId } = at.options;
  const imageToken = tokenizer.imageTokenIndex;
  let stem: number[] = [];
  const inputIds: number[] = [];
  const labels: number[] = [];
  const branches: number[] = [];
  for (let k = 0; k < messages.length; k += 2) {
    // Question k as the first (and only) turn of a record, split after its image token.
    const prompt = tokenizer.encode(formatPrompt(template, messages[k].replace(IMAGE_PLACEHOLDER, '').trim(), true));
    const cut = prompt.indexOf(imageToken) + 1;
    if (k === 0) {
      stem = prompt.slice(0, cut);
      inputIds.push(...stem);
      labels.push(...stem.map(() => IGNORE_INDEX));
    }
    const question = prompt.slice(cut);
    const reply = [...tokenizer.encodeContinuation(messages[k + 1]), eosTokenId];
    inputIds.push(...question, ...reply);
    labels.push(...question.map(() => IGNORE_INDEX), ...reply);
    branches.push(question.length + reply.length);
  }
  // Positions run through the stem and then the longest branch.
  at.checkLength('conversations', stem.length + Math.max(...branches), true);
  return { inputIds, labels, branches };
}

/** With an image: exactly one "<image>", in the first message. Without one: none anywhere. */
function checkPlaceholders(at: RecordContext, messages: readonly string[], hasImage: boolean): void {
  const counts = messages.map((m) => m.split(IMAGE_PLACEHOLDER).length - 1);
  const stray = counts.findIndex((n, k) => (hasImage && k === 0 ? n > 1 : n > 0));
  if (stray >= 0) {
    const why = hasImage ? (stray === 0 ? 'holds more than one <image>' : 'holds <image>, which belongs in the first human turn only') : 'holds <image> but the record has no "image"';
    at.fail(`conversations[${stray}].value`, why);
  }
  if (hasImage && counts[0] === 0) at.fail('image', 'the record has an image but its first human turn holds no <image>');
}

// -- pre-tokenized JSONL ----------------------------------------------------------------------------

function readTokenized(file: string, text: string, options: TrainingDataOptions): TrainingExample[] {
  const examples: TrainingExample[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const at = new RecordContext(file, i + 1, options);
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (e) {
      throw new DataError(file, i + 1, undefined, `not JSON (${(e as Error).message})`);
    }
    examples.push(tokenizedExample(at, record));
  });
  return examples;
}

function tokenizedExample(at: RecordContext, record: unknown): TrainingExample {
  const fields = at.object(record);
  const image = at.image(fields.image);
  const { vocabSize } = at.options;
  const imageToken = at.options.tokenizer.imageTokenIndex;
  const inputIds = at.integers('input_ids', fields.input_ids, (v) => (v >= 0 && v < vocabSize) || v === imageToken, `an id in [0, ${vocabSize}) or the image token ${imageToken}`);
  const labels = at.integers('labels', fields.labels, (v) => v === IGNORE_INDEX || (v >= 0 && v < vocabSize), `${IGNORE_INDEX} or an id in [0, ${vocabSize})`);
  if (labels.length !== inputIds.length) at.fail('labels', `${labels.length} labels for ${inputIds.length} input_ids (labels are aligned with input_ids; the model shifts)`);

  const imagePositions = inputIds.flatMap((v, t) => (v === imageToken ? [t] : []));
  if (image === undefined && imagePositions.length > 0) at.fail(`input_ids[${imagePositions[0]}]`, `is the image token ${imageToken} but the record has no "image"`);
  if (image !== undefined && imagePositions.length !== 1) at.fail('input_ids', `the record has an image, so it must hold the image token ${imageToken} once, not ${imagePositions.length} times`);
  labels.forEach((label, t) => {
    if (label === IGNORE_INDEX) return;
    if (inputIds[t] === imageToken) at.fail(`labels[${t}]`, `is ${label} at the image token; it must be ${IGNORE_INDEX}`);
    if (label !== inputIds[t]) {
      at.fail(`labels[${t}]`, `is ${label} but input_ids[${t}] is ${inputIds[t]}: labels repeat input_ids where they are not ${IGNORE_INDEX} (the model shifts; do not shift them)`);
    }
  });
  if (!labels.some((label) => label !== IGNORE_INDEX)) at.fail('labels', `every label is ${IGNORE_INDEX}: the record teaches nothing`);
  at.checkLength('input_ids', inputIds.length, image !== undefined);
  const id = fields.id;
  return {
    id: typeof id === 'string' || Number.isSafeInteger(id) ? String(id) : `line ${at.record}`,
    ...(image === undefined ? {} : { image }),
    inputIds,
    labels,
  };
}

// -- shared checks ------------------------------------------------------------------------------------

/** One record being read: where it is (for errors) and the checks both formats share. */
class RecordContext {
  constructor(
    readonly file: string,
    readonly record: number,
    readonly options: TrainingDataOptions,
  ) {}

  fail(field: string | undefined, detail: string): never {
    throw new DataError(this.file, this.record, field, detail);
  }

  object(value: unknown, field?: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'must be a JSON object');
    return value as Record<string, unknown>;
  }

  /** The resolved path of an "image" field, which must name an existing file; undefined when absent. */
  image(value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value === '') this.fail('image', 'must be a path (a non-empty string)');
    const path = resolve(this.options.imageFolder ?? dirname(this.file), value);
    if (!existsSync(path) || !statSync(path).isFile()) this.fail('image', `${path} not found`);
    return path;
  }

  /**
   * A "patch_words" field, the image as words: one string per vision token ("red circle", or "" for
   * a patch that shows nothing), each as its token ids; undefined when absent.
   */
  patchWords(value: unknown): number[][] | undefined {
    if (value === undefined || value === null) return undefined;
    const { tokenizer, visionTokens } = this.options;
    if (!Array.isArray(value) || value.length !== visionTokens) {
      this.fail('patch_words', `must be a list of ${visionTokens} strings, one per vision token${Array.isArray(value) ? ` (got ${value.length})` : ''}`);
    }
    return value.map((words, p) => {
      if (typeof words !== 'string') this.fail(`patch_words[${p}]`, 'must be a string of words ("" for none)');
      const [ids] = tokenizer.encodePatchWords([words]);
      if (ids.includes(tokenizer.imageTokenIndex)) this.fail(`patch_words[${p}]`, `holds the image token: ${JSON.stringify(words)}`);
      return ids;
    });
  }

  integers(field: string, value: unknown, ok: (v: number) => boolean, rule: string): number[] {
    if (!Array.isArray(value)) this.fail(field, 'must be a list of integers');
    value.forEach((v, t) => {
      if (!Number.isSafeInteger(v)) this.fail(`${field}[${t}]`, `${JSON.stringify(v)} is not an integer`);
      if (!ok(v as number)) this.fail(`${field}[${t}]`, `${v} is not ${rule}`);
    });
    return value as number[];
  }

  /** Refuses an example longer than maxLength positions, its image counted as visionTokens. */
  checkLength(field: string, tokens: number, hasImage: boolean): void {
    const { maxLength, visionTokens } = this.options;
    const positions = hasImage ? tokens - 1 + visionTokens : tokens;
    if (positions > maxLength) {
      const parts = hasImage ? ` (${tokens - 1} text tokens + ${visionTokens} vision positions)` : '';
      this.fail(field, `${positions} positions${parts} exceed the maximum length ${maxLength}`);
    }
  }
}

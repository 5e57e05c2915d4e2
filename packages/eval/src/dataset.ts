/**
 * Reads a VQA set in LLaVA's conversation format: a JSON list of
 * `{"id", "image", "type"?, "conversations": [{"from": "human", "value": "<image>\n{question}"},
 * {"from": "gpt", "value": "{answer}"}]}`. The first human turn is the question (the `<image>`
 * placeholder removed, wherever it stands) and the gpt turn after it the reference answer. Records
 * without a `type` count as type "all". A record without `image` is a text-only question, and its
 * question must then hold no `<image>`. A record may give its image as words instead
 * (`"patch_words"`: one string per vision token, "" for none; Llava.embedPatchWords), never both.
 * Every error names the file, the record and the field.
 */
import { readFileSync } from 'node:fs';

export interface EvalRecord {
  id: string;
  /** Image path relative to the image folder; absent for a text-only question. */
  image?: string;
  /** The image as words, one string per vision token (instead of `image`). */
  patchWords?: string[];
  type: string;
  question: string;
  answer: string;
}

export class DatasetError extends Error {
  readonly code = 'DatasetError';
}

export function readDataset(file: string): EvalRecord[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `not JSON (${(e as Error).message})`}`);
  }
  if (!Array.isArray(json)) throw new DatasetError(`${file}: expected a JSON list of records`);
  return json.map((raw, i) => parseRecord(raw, `${file} record ${i}`));
}

function parseRecord(raw: unknown, where: string): EvalRecord {
  const fail = (what: string): never => {
    throw new DatasetError(`${where}: ${what}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('not an object');
  const r = raw as Record<string, unknown>;
  const text = (k: string, v: unknown = r[k]): string => (typeof v === 'string' ? v : fail(`field "${k}" must be a string`));
  const id = typeof r.id === 'number' ? String(r.id) : text('id');
  where = `${where} (id ${id})`;
  const turns = Array.isArray(r.conversations) ? r.conversations : fail('field "conversations" must be a list');
  const human = turns.findIndex((t) => (t as { from?: unknown })?.from === 'human');
  if (human < 0) fail('field "conversations" has no human turn');
  const gpt = turns[human + 1] as { from?: unknown; value?: unknown } | undefined;
  if (gpt?.from !== 'gpt') fail(`field "conversations" has no gpt turn after the first human turn`);
  const question = text(`conversations[${human}].value`, (turns[human] as { value?: unknown }).value);
  const image = r.image === undefined ? undefined : text('image');
  const patchWords = r.patch_words === undefined ? undefined : words(r.patch_words, fail);
  if (image !== undefined && patchWords !== undefined) fail('has both "image" and "patch_words"; give one or the other');
  const pictured = image !== undefined || patchWords !== undefined;
  if (pictured && !question.includes('<image>')) fail(`field "conversations[${human}].value" has no <image> placeholder`);
  if (!pictured && question.includes('<image>')) fail(`field "conversations[${human}].value" holds <image> but the record has no "image"`);
  return {
    id,
    ...(image === undefined ? {} : { image }),
    ...(patchWords === undefined ? {} : { patchWords }),
    type: r.type === undefined ? 'all' : text('type'),
    question: question.replace('<image>', '').trim(),
    answer: text(`conversations[${human + 1}].value`, gpt!.value),
  };
}

function words(value: unknown, fail: (what: string) => never): string[] {
  if (!Array.isArray(value)) return fail('field "patch_words" must be a list of strings, one per vision token');
  const bad = value.findIndex((w) => typeof w !== 'string');
  if (bad >= 0) fail(`field "patch_words[${bad}]" must be a string of words ("" for none)`);
  return value as string[];
}

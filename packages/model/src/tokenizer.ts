/**
 * Prompts to token ids and back, with the model directory's own tokenizer.json.
 *
 * Tokenization itself is not what this project teaches, so it is delegated to
 * @huggingface/tokenizers (pure JS, runs offline on the local files). What is LLaVA-specific lives
 * here: the two prompt templates, and the image token. llava-hf's vocabulary has `<image>` as an
 * added token, so the whole prompt is encoded at once; the original LLaVA vocabulary has no such
 * token, so the prompt is split at "<image>" and the pieces are joined with `image_token_index`
 * (-200 in the original code), as its `tokenizer_image_token` does.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from './config.js';

export type TemplateName = 'llava-hf' | 'vicuna_v1';

const VICUNA_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";

/** The prompt text for a question, with the image placeholder when there is an image. */
export function formatPrompt(template: TemplateName, question: string, hasImage: boolean): string {
  const user = `${hasImage ? '<image>\n' : ''}${question}`;
  return template === 'llava-hf' ? `USER: ${user} ASSISTANT:` : `${VICUNA_SYSTEM} USER: ${user} ASSISTANT:`;
}

export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

export class LlavaTokenizer {
  constructor(
    private readonly tokenizer: Tokenizer,
    readonly bosTokenId: number,
    readonly imageTokenIndex: number,
  ) {}

  /** Reads DIR/tokenizer.json (and DIR/tokenizer_config.json when present). */
  static load(dir: string, imageTokenIndex: number, bosTokenId = 1): LlavaTokenizer {
    const path = join(dir, 'tokenizer.json');
    if (!existsSync(path)) throw new TokenizerError(`${path}: not found (needed to encode --prompt; --input-ids skips it)`);
    const configPath = join(dir, 'tokenizer_config.json');
    const json = readJsonFile(path);
    const config = existsSync(configPath) ? readJsonFile(configPath) : {};
    return LlavaTokenizer.fromJson(json, config, imageTokenIndex, bosTokenId, path);
  }

  /** From the parsed tokenizer.json and tokenizer_config.json (a browser fetches them); `source` names them in errors. */
  static fromJson(json: unknown, config: unknown, imageTokenIndex: number, bosTokenId = 1, source = 'tokenizer.json'): LlavaTokenizer {
    try {
      return new LlavaTokenizer(new Tokenizer(json as object, config as object), bosTokenId, imageTokenIndex);
    } catch (e) {
      throw new TokenizerError(`${source}: cannot load the tokenizer (${(e as Error).message})`);
    }
  }

  /** Token ids of `text`, BOS first, "<image>" mapped to the image token. */
  encode(text: string): number[] {
    const imageInVocab = this.tokenizer.token_to_id('<image>') === this.imageTokenIndex;
    let ids: number[];
    if (imageInVocab || !text.includes('<image>')) {
      ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    } else {
      ids = text
        .split('<image>')
        .flatMap((piece, i) => [...(i > 0 ? [this.imageTokenIndex] : []), ...(piece ? this.tokenizer.encode(piece, { add_special_tokens: false }).ids : [])]);
    }
    return [this.bosTokenId, ...ids];
  }

  /** Token ids of `text` without BOS: a piece that continues a sequence (a later turn, an answer). */
  encodeContinuation(text: string): number[] {
    return this.encode(text).slice(1);
  }

  /**
   * An image's patch words as the ids Llava.embedPatchWords sums: each patch's words without BOS,
   * none for a blank patch ("").
   */
  encodePatchWords(words: readonly string[]): number[][] {
    return words.map((w) => (w.trim() === '' ? [] : this.encodeContinuation(w)));
  }

  /** Text of generated ids, special tokens skipped. */
  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }
}

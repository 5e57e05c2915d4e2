/**
 * The word-level tokenizer of shapes-llava: one token per word or punctuation mark of the prompt
 * template and of every question and answer the generator can produce, so no word is ever split
 * and an answer is exactly one token followed by </s>.
 *
 * Written as a Hugging Face tokenizer.json (model "WordLevel", pre-tokenizer "Whitespace", which
 * splits on whitespace and between word characters and punctuation: "circle?" -> "circle", "?").
 * The newline after <image> is whitespace, so it is no token. Ids 0-4 are <unk>, <s>, </s>, <pad>
 * and <image> (the added token that config.json's image_token_index names); the words follow in
 * the order they first appear.
 */
import { ANSWERS, QUESTION_TYPES, allQuestions, questionText } from './questions.js';

export const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>', '<pad>', '<image>'] as const;
export const UNK_TOKEN_ID = 0;
export const BOS_TOKEN_ID = 1;
export const EOS_TOKEN_ID = 2;
export const PAD_TOKEN_ID = 3;
export const IMAGE_TOKEN_ID = 4;

/** The prompt template's own words (LLaVA-1.5, llava-hf: "USER: <image>\n{question} ASSISTANT:"). */
const TEMPLATE = 'USER: ASSISTANT:';

/** Splits text the way the Whitespace pre-tokenizer does: runs of word characters, runs of other non-space characters. */
export function words(text: string): string[] {
  return text.match(/\w+|[^\w\s]+/g) ?? [];
}

/** Every token, by id. */
export function shapesVocabulary(): string[] {
  const texts = [TEMPLATE, ...allQuestions().map(questionText), ...QUESTION_TYPES.flatMap((t) => ANSWERS[t])];
  return [...new Set([...SPECIAL_TOKENS, ...texts.flatMap(words)])];
}

/** tokenizer.json for `vocabulary` (ids = positions), loadable by tokenizers (Python) and @huggingface/tokenizers. */
export function shapesTokenizerJson(vocabulary = shapesVocabulary()): object {
  const added = (id: number) => ({ id, content: vocabulary[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((_, id) => added(id)),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [BOS_TOKEN_ID], tokens: ['<s>'] } },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab: Object.fromEntries(vocabulary.map((token, id) => [token, id])), unk_token: '<unk>' },
  };
}

/** tokenizer_config.json in the llava-hf style. */
export function shapesTokenizerConfig(): object {
  return {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    clean_up_tokenization_spaces: false,
    model_max_length: 512,
    padding_side: 'left',
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}

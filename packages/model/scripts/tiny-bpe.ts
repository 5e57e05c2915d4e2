/**
 * A small Llama-style BPE tokenizer, trained here so the bundled demo has a real tokenizer.json.
 *
 * The layout is the one Hugging Face writes for Llama / Vicuna (a SentencePiece BPE converted to
 * tokenizer.json): spaces become "▁" and one is prepended; the vocabulary starts with <unk>, <s>,
 * </s> and the 256 byte tokens <0x00>..<0xFF> (byte fallback for anything unknown), then single
 * characters, then merged pieces. Merges never cross a word boundary: a "▁" only starts a piece.
 */

export interface TrainedBpe {
  vocab: Map<string, number>;
  merges: [string, string][];
}

const SPECIALS = ['<unk>', '<s>', '</s>'];

/** Learns `size - 259 - characters` merges from `corpus` by repeatedly joining the most frequent pair. */
export function trainBpe(corpus: string, size: number): TrainedBpe {
  const vocab = new Map<string, number>();
  const add = (token: string) => {
    if (!vocab.has(token)) vocab.set(token, vocab.size);
  };
  SPECIALS.forEach(add);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

  // Words as "▁word" with their counts; each word starts as a list of characters.
  const counts = new Map<string, number>();
  for (const word of corpus.split(/\s+/).filter(Boolean)) counts.set(`▁${word}`, (counts.get(`▁${word}`) ?? 0) + 1);
  const words = [...counts].map(([w, n]) => ({ pieces: [...w], n }));
  for (const c of [...new Set(words.flatMap((w) => w.pieces))].sort()) add(c);

  const merges: [string, string][] = [];
  while (vocab.size < size) {
    const pairs = new Map<string, number>();
    for (const { pieces, n } of words) {
      for (let i = 0; i + 1 < pieces.length; i++) {
        const key = `${pieces[i]} ${pieces[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    // Most frequent pair; ties broken by the pair's text so training is deterministic.
    let best: string | undefined;
    for (const [key, n] of pairs) if (best === undefined || n > pairs.get(best)! || (n === pairs.get(best) && key < best)) best = key;
    if (best === undefined || pairs.get(best)! < 2) break;
    const [a, b] = best.split(' ') as [string, string];
    merges.push([a, b]);
    add(a + b);
    for (const w of words) {
      const next: string[] = [];
      for (let i = 0; i < w.pieces.length; i++) {
        if (i + 1 < w.pieces.length && w.pieces[i] === a && w.pieces[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(w.pieces[i]);
      }
      w.pieces = next;
    }
  }
  return { vocab, merges };
}

/**
 * tokenizer.json for `bpe`, with `added` special tokens at fixed ids (LLaVA's <image> and
 * <pad> sit right after the base vocabulary).
 */
export function tokenizerJson(bpe: TrainedBpe, added: Record<string, number>): object {
  const special = (content: string, id: number) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...SPECIALS.map((t, i) => special(t, i)), ...Object.entries(added).map(([t, id]) => special(t, id))],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: Object.fromEntries(bpe.vocab),
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** tokenizer_config.json in the llava-hf style. */
export function tokenizerConfig(): object {
  return {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    legacy: false,
    model_max_length: 4096,
    padding_side: 'left',
    tokenizer_class: 'LlamaTokenizer',
  };
}

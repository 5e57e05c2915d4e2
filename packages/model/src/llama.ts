/**
 * The Llama decoder of LLaVA-1.5 (Vicuna v1.5): token embeddings, N pre-norm decoder layers,
 * a final RMSNorm and an untied lm_head.
 *
 * One decoder layer, top to bottom (T tokens, d hidden, H heads of hd, Hkv key/value heads, m FFN):
 *   h   = RMSNorm(x)                                   [T, d]
 *   q   = h Wq^T, k = h Wk^T, v = h Wv^T               [T, H*hd], [T, Hkv*hd], [T, Hkv*hd]
 *   q,k = RoPE(q, k) at each token's position id
 *   cache.append(k, v)                                 this layer now holds L tokens
 *   a   = attention(q, K_cache, V_cache), causal       [H, T, hd]
 *   x   = x + a Wo^T                                   [T, d]
 *   h   = RMSNorm(x)
 *   x   = x + (silu(h Wgate^T) * (h Wup^T)) Wdown^T    [T, m] -> [T, d]
 *
 * The same function runs inference and training. Inference passes a KV cache (prefill fills it,
 * decode steps read it); training passes none and attends over the layer's own k and v, so the
 * tape sees them and the gradient flows back through the attention (FlashAttention-2 backward).
 *
 * The causal rule works on the compacted sequence: token order is preserved when a schedule drops
 * vision tokens, so "key j precedes query i in the cache" is the same relation as on the original
 * positions. RoPE, in contrast, uses each token's position id, which a schedule may keep original.
 *
 * Training may split the sequence into a stem and independent branches (sequence.ts,
 * `withBranches`): the stem attends causally to itself, and each branch to the stem's keys and
 * values followed by its own, causally, as if it were the only text after the stem.
 */
import { attention, attentionWithProbs } from '@adsc/attention';
import { Tensor, add, concat, embedding, indexSelect, mul, rmsNorm, silu } from '@adsc/core';
import type { TextConfig } from './config.js';
import type { LayerCache } from './kv-cache.js';
import { applyLinear, loadLinear, type Linear } from './linear.js';
import { rope, type RopeTables, type TokenPositions } from './rope.js';
import type { Weights } from './weights.js';

export interface LayerOutput {
  out: Tensor; // [T, d]
  /** Attention probabilities [H, T, L], only when asked for (FastV's ranking layer). */
  probs?: Tensor;
}

/** The tensors of one decoder layer, by their role. */
export interface DecoderLayerWeights {
  inputNorm: Tensor; // [d]
  q: Linear; // [H * hd, d]
  k: Linear; // [Hkv * hd, d]
  v: Linear; // [Hkv * hd, d]
  o: Linear; // [d, H * hd]
  postNorm: Tensor; // [d]
  gate: Linear; // [m, d]
  up: Linear; // [m, d]
  down: Linear; // [d, m]
}

export class DecoderLayer {
  constructor(
    readonly cfg: TextConfig,
    readonly w: DecoderLayerWeights,
  ) {}

  /** Loads `{prefix}.input_layernorm`, `.self_attn.{q,k,v,o}_proj`, `.post_attention_layernorm`, `.mlp.*`. */
  static load(w: Weights, cfg: TextConfig): DecoderLayer {
    const { hiddenSize: d, numHeads: h, numKvHeads: hkv, headDim: hd, intermediateSize: m } = cfg;
    return new DecoderLayer(cfg, {
      inputNorm: w.get('input_layernorm.weight', [d]),
      q: loadLinear(w, 'self_attn.q_proj', h * hd, d, 'none'),
      k: loadLinear(w, 'self_attn.k_proj', hkv * hd, d, 'none'),
      v: loadLinear(w, 'self_attn.v_proj', hkv * hd, d, 'none'),
      o: loadLinear(w, 'self_attn.o_proj', d, h * hd, 'none'),
      postNorm: w.get('post_attention_layernorm.weight', [d]),
      gate: loadLinear(w, 'mlp.gate_proj', m, d, 'none'),
      up: loadLinear(w, 'mlp.up_proj', m, d, 'none'),
      down: loadLinear(w, 'mlp.down_proj', d, m, 'none'),
    });
  }

  /**
   * Runs the layer on x [T, d] whose tokens sit at `positions` (ids and RoPE tables). With
   * a `cache`, their keys and values are appended to it and the queries attend over everything it
   * holds; without one (training), over these T tokens only. `withProbs` uses the reference
   * attention and returns its probabilities; otherwise the tiled (FlashAttention-style) kernel runs
   * and no T x L matrix ever exists. `branches` (training, no cache): the lengths of the independent
   * branches x ends with.
   */
  forward(x: Tensor, positions: TokenPositions, cache?: LayerCache, withProbs = false, branches: readonly number[] = []): LayerOutput {
    const { numHeads: h, numKvHeads: hkv, headDim: hd, rmsNormEps: eps } = this.cfg;
    const { w } = this;
    const tokens = x.shape[0];
    const heads = (t: Tensor, n: number) => t.reshape([tokens, n, hd]).permute([1, 0, 2]); // [T, n*hd] -> [n, T, hd]

    // Self-attention block.
    const hn = rmsNorm(x, w.inputNorm, eps); // [T, d]
    const { q, k, v } = this.project(hn, positions.tables); // [T, H*hd], [T, Hkv*hd] x2, RoPE applied
    let keys = heads(k, hkv); // [Hkv, L, hd]
    let values = heads(v, hkv);
    if (cache) {
      cache.append(k, v, positions.ids);
      [keys, values] = [cache.keys(), cache.values()];
    }
    let merged: Tensor; // [T, H*hd]
    let probs: Tensor | undefined; // [H, T, L]
    if (branches.length > 0) {
      if (cache || withProbs) throw new Error('DecoderLayer.forward: branches are for training, without a cache or attention probabilities');
      merged = branchedAttention(q, k, v, h, hkv, branches);
    } else {
      const opts = { causal: true, queryOffset: keys.shape[1] - tokens };
      let attn: Tensor; // [H, T, hd]
      if (withProbs) ({ out: attn, probs } = attentionWithProbs(heads(q, h), keys, values, opts));
      else attn = attention(heads(q, h), keys, values, opts);
      merged = attn.permute([1, 0, 2]).reshape([tokens, h * hd]);
    }
    const x1 = add(x, applyLinear(w.o, merged)); // [T, d]

    // SwiGLU feed-forward block.
    const hf = rmsNorm(x1, w.postNorm, eps); // [T, d]
    const act = mul(silu(applyLinear(w.gate, hf)), applyLinear(w.up, hf)); // [T, m]
    const out = add(x1, applyLinear(w.down, act)); // [T, d]
    return { out, probs };
  }

  /** q, k (rotated) and v of normalised hidden states hn [T, d]. */
  project(hn: Tensor, tables: RopeTables): { q: Tensor; k: Tensor; v: Tensor } {
    const { numHeads: h, numKvHeads: hkv } = this.cfg;
    const q = rope(applyLinear(this.w.q, hn), h, tables); // [T, H*hd]
    const k = rope(applyLinear(this.w.k, hn), hkv, tables); // [T, Hkv*hd]
    const v = applyLinear(this.w.v, hn); // [T, Hkv*hd]
    return { q, k, v };
  }
}

/**
 * Causal attention over a stem and independent branches: q [T, H*hd], k and v [T, Hkv*hd] (token
 * rows, as the projections make them), the last rows being branches of the given lengths. The
 * stem's rows attend to the stem; a branch's rows to the stem's keys followed by the branch's own,
 * up to themselves. Output [T, H*hd].
 *
 * The K branches run as one batch: each is padded to the longest, Lmax, by repeating its last row,
 * and gets a copy of the stem's keys and values in front of its own, so a causal attention with the
 * queries placed after the stem (queryOffset S) is exactly the rule above. Padding comes after a
 * branch's real rows, so causality hides it from them; the padded rows' outputs are dropped. The
 * batch is gathered straight into the [K, heads, len, hd] layout the kernels read, one row of
 * hd floats per (branch, head, position) picked from the token rows viewed as [T * heads, hd]:
 * gathering by token and permuting after cost twice as much, most of it in the backward, which
 * had to make the permuted gradient contiguous before scattering it.
 */
function branchedAttention(q: Tensor, k: Tensor, v: Tensor, h: number, hkv: number, branches: readonly number[]): Tensor {
  const total = q.shape[0];
  const hd = q.shape[1] / h;
  const stem = total - branches.reduce((s, n) => s + n, 0);
  const stemHeads = (t: Tensor, n: number) => t.narrow(0, 0, stem).reshape([stem, n, hd]).permute([1, 0, 2]); // [n, S, hd]
  const stemOut = attention(stemHeads(q, h), stemHeads(k, hkv), stemHeads(v, hkv), { causal: true }); // [H, S, hd]

  const longest = Math.max(...branches);
  const queryRows: number[] = []; // K * Lmax token rows of q
  const keyRows: number[] = []; // K * (S + Lmax) token rows of k and v
  const realRows: number[] = []; // where each branch's real rows sit among the K * Lmax outputs
  let start = stem;
  branches.forEach((n, b) => {
    const padded = Array.from({ length: longest }, (_, i) => start + Math.min(i, n - 1));
    queryRows.push(...padded);
    for (let j = 0; j < stem; j++) keyRows.push(j);
    keyRows.push(...padded);
    for (let i = 0; i < n; i++) realRows.push(b * longest + i);
    start += n;
  });
  // token rows [T, n*hd] -> [K, n, len, hd]: row (b, head, i) is token rows[b * len + i]'s head
  const batch = (t: Tensor, n: number, rows: number[], len: number) => {
    const picks: number[] = [];
    for (let b = 0; b < branches.length; b++) {
      for (let head = 0; head < n; head++) for (let i = 0; i < len; i++) picks.push(rows[b * len + i] * n + head);
    }
    return indexSelect(t.reshape([total * n, hd]), 0, picks).reshape([branches.length, n, len, hd]);
  };
  const kvLength = stem + longest;
  const out = attention(batch(q, h, queryRows, longest), batch(k, hkv, keyRows, kvLength), batch(v, hkv, keyRows, kvLength), { causal: true, queryOffset: stem }); // [K, H, Lmax, hd]
  const rows = out.permute([0, 2, 1, 3]).reshape([branches.length * longest, h * hd]); // [K * Lmax, H*hd]
  return concat([stemOut.permute([1, 0, 2]).reshape([stem, h * hd]), indexSelect(rows, 0, realRows)], 0); // [T, H*hd]
}

/** The named tensors of the decoder outside its layers. */
export interface LlamaDecoderWeights {
  embedTokens: Tensor; // [V, d]
  layers: DecoderLayer[];
  norm: Tensor; // [d]
  lmHead: Tensor; // [V, d]
}

export class LlamaDecoder {
  readonly embedTokens: Tensor;
  readonly layers: DecoderLayer[];
  readonly norm: Tensor;
  readonly lmHead: Tensor;

  constructor(
    readonly cfg: TextConfig,
    w: LlamaDecoderWeights,
  ) {
    ({ embedTokens: this.embedTokens, layers: this.layers, norm: this.norm, lmHead: this.lmHead } = w);
  }

  /**
   * `model` scopes the Llama body (embed_tokens, layers.N, norm), `head` the lm_head; the two
   * live under different prefixes in both checkpoint layouts.
   */
  static load(model: Weights, head: Weights, cfg: TextConfig): LlamaDecoder {
    const { vocabSize: vocab, hiddenSize: d } = cfg;
    return new LlamaDecoder(cfg, {
      embedTokens: model.get('embed_tokens.weight', [vocab, d]),
      layers: Array.from({ length: cfg.numLayers }, (_, i) => DecoderLayer.load(model.scope(`layers.${i}`), cfg)),
      norm: model.get('norm.weight', [d]),
      lmHead: head.get('weight', [vocab, d]),
    });
  }

  /** Token embeddings [T, d] (f32) of `ids`. */
  embed(ids: readonly number[]): Tensor {
    return embedding(this.embedTokens, ids);
  }

  /** Logits [T, V] of final hidden states x [T, d]: final RMSNorm, then lm_head. */
  logits(x: Tensor): Tensor {
    return applyLinear({ weight: this.lmHead }, rmsNorm(x, this.norm, this.cfg.rmsNormEps));
  }
}

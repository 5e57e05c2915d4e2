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
 * The causal rule works on the compacted sequence: token order is preserved when a schedule drops
 * vision tokens, so "key j precedes query i in the cache" is the same relation as on the original
 * positions. RoPE, in contrast, uses each token's position id, which a schedule may keep original.
 */
import { attention, attentionWithProbs } from '@adsc/attention';
import { Tensor, add, embedding, linear, mul, rmsNorm, silu } from '@adsc/core';
import type { TextConfig } from './config.js';
import type { LayerCache } from './kv-cache.js';
import { applyRope, ropeTables, type RopeTables } from './rope.js';
import type { Weights } from './weights.js';

export interface LayerOutput {
  out: Tensor; // [T, d]
  /** Attention probabilities [H, T, L], only when asked for (FastV's ranking layer). */
  probs?: Tensor;
}

export class DecoderLayer {
  constructor(
    readonly cfg: TextConfig,
    readonly inputNorm: Tensor, // [d]
    readonly wq: Tensor, // [H * hd, d]
    readonly wk: Tensor, // [Hkv * hd, d]
    readonly wv: Tensor, // [Hkv * hd, d]
    readonly wo: Tensor, // [d, H * hd]
    readonly postNorm: Tensor, // [d]
    readonly gate: Tensor, // [m, d]
    readonly up: Tensor, // [m, d]
    readonly down: Tensor, // [d, m]
  ) {}

  /** Loads `{prefix}.input_layernorm`, `.self_attn.{q,k,v,o}_proj`, `.post_attention_layernorm`, `.mlp.*`. */
  static load(w: Weights, cfg: TextConfig): DecoderLayer {
    const { hiddenSize: d, numHeads: h, numKvHeads: hkv, headDim: hd, intermediateSize: m } = cfg;
    return new DecoderLayer(
      cfg,
      w.get('input_layernorm.weight', [d]),
      w.get('self_attn.q_proj.weight', [h * hd, d]),
      w.get('self_attn.k_proj.weight', [hkv * hd, d]),
      w.get('self_attn.v_proj.weight', [hkv * hd, d]),
      w.get('self_attn.o_proj.weight', [d, h * hd]),
      w.get('post_attention_layernorm.weight', [d]),
      w.get('mlp.gate_proj.weight', [m, d]),
      w.get('mlp.up_proj.weight', [m, d]),
      w.get('mlp.down_proj.weight', [d, m]),
    );
  }

  /**
   * Runs the layer on x [T, d] whose tokens have position ids `positions`, appending their keys
   * and values to `cache`. `withProbs` uses the reference attention and returns its probabilities;
   * otherwise the tiled (FlashAttention-style) kernel runs and no T x L matrix ever exists.
   */
  forward(x: Tensor, positions: Int32Array, cache: LayerCache, withProbs = false): LayerOutput {
    const { numHeads: h, headDim: hd, rmsNormEps: eps } = this.cfg;
    const tokens = x.shape[0];
    const rope = ropeFor(positions, hd, this.cfg.ropeTheta);

    // Self-attention block.
    const hn = rmsNorm(x, this.inputNorm, eps); // [T, d]
    const { q, k, v } = this.project(hn, rope); // [T, H*hd], [T, Hkv*hd] x2, RoPE applied
    cache.append(k, v, positions);
    const qh = q.reshape([tokens, h, hd]).permute([1, 0, 2]); // [H, T, hd] (view)
    const opts = { causal: true, queryOffset: cache.length - tokens };
    let attn: Tensor; // [H, T, hd]
    let probs: Tensor | undefined; // [H, T, L]
    if (withProbs) ({ out: attn, probs } = attentionWithProbs(qh, cache.keys(), cache.values(), opts));
    else attn = attention(qh, cache.keys(), cache.values(), opts);
    const merged = attn.permute([1, 0, 2]).reshape([tokens, h * hd]); // [T, H*hd]
    const x1 = add(x, linear(merged, this.wo)); // [T, d]

    // SwiGLU feed-forward block.
    const hf = rmsNorm(x1, this.postNorm, eps); // [T, d]
    const act = mul(silu(linear(hf, this.gate)), linear(hf, this.up)); // [T, m]
    const out = add(x1, linear(act, this.down)); // [T, d]
    return { out, probs };
  }

  /** q, k (rotated) and v of normalised hidden states hn [T, d]. */
  project(hn: Tensor, rope: RopeTables): { q: Tensor; k: Tensor; v: Tensor } {
    const { numHeads: h, numKvHeads: hkv } = this.cfg;
    const q = linear(hn, this.wq); // [T, H*hd]
    const k = linear(hn, this.wk); // [T, Hkv*hd]
    const v = linear(hn, this.wv); // [T, Hkv*hd]
    applyRope(q, h, rope);
    applyRope(k, hkv, rope);
    return { q, k, v };
  }
}

// Consecutive layers usually see the same positions array: compute its tables once.
let lastPositions: Int32Array | undefined;
let lastTables: RopeTables | undefined;
let lastKey = '';

export function ropeFor(positions: Int32Array, headDim: number, theta: number): RopeTables {
  const key = `${headDim}/${theta}`;
  if (positions !== lastPositions || key !== lastKey || !lastTables) {
    lastTables = ropeTables(positions, headDim, theta);
    lastPositions = positions;
    lastKey = key;
  }
  return lastTables;
}

export class LlamaDecoder {
  constructor(
    readonly cfg: TextConfig,
    readonly embedTokens: Tensor, // [V, d]
    readonly layers: DecoderLayer[],
    readonly norm: Tensor, // [d]
    readonly lmHead: Tensor, // [V, d]
  ) {}

  /**
   * `model` scopes the Llama body (embed_tokens, layers.N, norm), `head` the lm_head; the two
   * live under different prefixes in both checkpoint layouts.
   */
  static load(model: Weights, head: Weights, cfg: TextConfig): LlamaDecoder {
    const { vocabSize: vocab, hiddenSize: d } = cfg;
    return new LlamaDecoder(
      cfg,
      model.get('embed_tokens.weight', [vocab, d]),
      Array.from({ length: cfg.numLayers }, (_, i) => DecoderLayer.load(model.scope(`layers.${i}`), cfg)),
      model.get('norm.weight', [d]),
      head.get('weight', [vocab, d]),
    );
  }

  /** Token embeddings [T, d] (f32) of `ids`. */
  embed(ids: readonly number[]): Tensor {
    return embedding(this.embedTokens, ids);
  }

  /** Logits [T, V] of final hidden states x [T, d]: final RMSNorm, then lm_head. */
  logits(x: Tensor): Tensor {
    return linear(rmsNorm(x, this.norm, this.cfg.rmsNormEps), this.lmHead);
  }
}

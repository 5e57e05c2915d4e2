/**
 * The CLIP ViT vision tower (ViT-L/14-336 in LLaVA-1.5): image -> one feature per patch.
 *
 *   patches = Conv2d(pixels, kernel = stride = 14, no bias)   [1024, 24, 24] -> [576, 1024]
 *   x       = [class_embedding; patches] + position_embedding  [577, 1024]
 *   x       = pre_layrnorm(x)                                  hidden_states[0]
 *   for each encoder layer (pre-LN):                           hidden_states[i]
 *     x = x + out_proj(MHA(LayerNorm1(x)))                     16 heads of 64, no mask
 *     x = x + fc2(quick_gelu(fc1(LayerNorm2(x))))              1024 -> 4096 -> 1024
 *
 * LLaVA reads hidden_states[-2], the output of the second-to-last layer, so the last layer never
 * needs to run; post_layernorm is not used at all.
 */
import { attention } from '@adsc/attention';
import { Tensor, add, concat, conv2dPatches, gelu, layerNorm, quickGelu } from '@adsc/core';
import type { VisionConfig } from './config.js';
import { applyLinear as apply, loadLinear, type Linear } from './linear.js';
import type { Weights } from './weights.js';

export interface Norm {
  weight: Tensor; // [d]
  bias: Tensor; // [d]
}

function loadNorm(w: Weights, name: string, d: number): Norm {
  return { weight: w.get(`${name}.weight`, [d]), bias: w.get(`${name}.bias`, [d]) };
}

/** The tensors of one encoder layer, by their role. */
export interface ClipEncoderLayerWeights {
  norm1: Norm;
  q: Linear; // [D, D]
  k: Linear;
  v: Linear;
  out: Linear;
  norm2: Norm;
  fc1: Linear; // [I, D]
  fc2: Linear; // [D, I]
}

export class ClipEncoderLayer {
  constructor(
    readonly cfg: VisionConfig,
    readonly w: ClipEncoderLayerWeights,
  ) {}

  static load(w: Weights, cfg: VisionConfig): ClipEncoderLayer {
    const { hiddenSize: d, intermediateSize: i } = cfg;
    return new ClipEncoderLayer(cfg, {
      norm1: loadNorm(w, 'layer_norm1', d),
      q: loadLinear(w, 'self_attn.q_proj', d, d),
      k: loadLinear(w, 'self_attn.k_proj', d, d),
      v: loadLinear(w, 'self_attn.v_proj', d, d),
      out: loadLinear(w, 'self_attn.out_proj', d, d),
      norm2: loadNorm(w, 'layer_norm2', d),
      fc1: loadLinear(w, 'mlp.fc1', i, d),
      fc2: loadLinear(w, 'mlp.fc2', d, i),
    });
  }

  /** x [P, D] -> [P, D]. */
  forward(x: Tensor): Tensor {
    const { hiddenSize: d, numHeads: h, layerNormEps: eps } = this.cfg;
    const { w } = this;
    const hd = d / h;
    const tokens = x.shape[0];
    const heads = (t: Tensor) => t.reshape([tokens, h, hd]).permute([1, 0, 2]); // [P, D] -> [H, P, hd]

    const hn = layerNorm(x, w.norm1.weight, w.norm1.bias, eps); // [P, D]
    const a = attention(heads(apply(w.q, hn)), heads(apply(w.k, hn)), heads(apply(w.v, hn))); // [H, P, hd]
    const x1 = add(x, apply(w.out, a.permute([1, 0, 2]).reshape([tokens, d]))); // [P, D]

    const hf = layerNorm(x1, w.norm2.weight, w.norm2.bias, eps);
    const act = this.cfg.hiddenAct === 'quick_gelu' ? quickGelu : gelu;
    return add(x1, apply(w.fc2, act(apply(w.fc1, hf)))); // [P, I] -> [P, D]
  }
}

/** The tensors of the tower outside its layers. */
export interface ClipVisionTowerWeights {
  patchEmbedding: Tensor; // [D, C, p, p]
  classEmbedding: Tensor; // [D]
  positionEmbedding: Tensor; // [P + 1, D]
  preNorm: Norm;
  layers: ClipEncoderLayer[];
}

export class ClipVisionTower {
  constructor(
    readonly cfg: VisionConfig,
    readonly w: ClipVisionTowerWeights,
  ) {}

  get layers(): ClipEncoderLayer[] {
    return this.w.layers;
  }

  /**
   * `w` scopes `vision_model` (embeddings.*, pre_layrnorm, encoder.layers.N). Only the layers up to
   * `featureLayer` are loaded: LLaVA's -2 never runs the last one (12.6M parameters not read).
   */
  static load(w: Weights, cfg: VisionConfig, featureLayer = -1): ClipVisionTower {
    const { hiddenSize: d, numChannels: c, patchSize: p } = cfg;
    const positions = (cfg.imageSize / p) ** 2 + 1;
    const layers = hiddenStateIndex(featureLayer, cfg.numLayers);
    return new ClipVisionTower(cfg, {
      patchEmbedding: w.get('embeddings.patch_embedding.weight', [d, c, p, p]),
      classEmbedding: w.get('embeddings.class_embedding', [d]),
      positionEmbedding: w.get('embeddings.position_embedding.weight', [positions, d]),
      preNorm: loadNorm(w, 'pre_layrnorm', d),
      layers: Array.from({ length: layers }, (_, i) => ClipEncoderLayer.load(w.scope(`encoder.layers.${i}`), cfg)),
    });
  }

  /**
   * hidden_states[featureLayer] for one image pixels [C, S, S] -> [P + 1, D] (CLS first).
   * Negative indices count from the end as in Python: -1 is the last layer's output.
   */
  forward(pixels: Tensor, featureLayer: number): Tensor {
    const { hiddenSize: d, imageSize: s, numChannels: c } = this.cfg;
    if (pixels.rank !== 3 || pixels.shape[0] !== c || pixels.shape[1] !== s || pixels.shape[2] !== s) {
      throw new Error(`vision tower: pixel values must be [${c}, ${s}, ${s}], got [${pixels.shape.join(', ')}]`);
    }
    const index = hiddenStateIndex(featureLayer, this.cfg.numLayers);
    if (index > this.layers.length) throw new Error(`vision tower: feature layer ${featureLayer} needs ${index} layers, only ${this.layers.length} were loaded`);
    const { w } = this;
    const grid = conv2dPatches(pixels, w.patchEmbedding); // [D, S/p, S/p]
    const patches = grid.reshape([d, -1]).transpose(); // [P, D] (row-major patch order)
    let x = concat([w.classEmbedding.to('f32').reshape([1, d]), patches.contiguous()], 0); // [P + 1, D]
    x = add(x, w.positionEmbedding);
    x = layerNorm(x, w.preNorm.weight, w.preNorm.bias, this.cfg.layerNormEps); // hidden_states[0]
    for (let i = 0; i < index; i++) x = this.layers[i].forward(x); // hidden_states[i + 1]
    return x;
  }
}

/** hidden_states[featureLayer] as a count of layers to run (negative indices count from the end). */
export function hiddenStateIndex(featureLayer: number, numLayers: number): number {
  const index = featureLayer < 0 ? numLayers + 1 + featureLayer : featureLayer;
  if (!Number.isInteger(index) || index < 0 || index > numLayers) {
    throw new Error(`vision tower: feature layer ${featureLayer} is outside the ${numLayers + 1} hidden states`);
  }
  return index;
}

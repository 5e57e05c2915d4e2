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
import { Tensor, add, concat, conv2dPatches, gelu, layerNorm, linear, quickGelu } from '@adsc/core';
import type { VisionConfig } from './config.js';
import type { Weights } from './weights.js';

interface Linear {
  weight: Tensor; // [out, in]
  bias?: Tensor; // [out]
}

function loadLinear(w: Weights, name: string, outF: number, inF: number): Linear {
  return { weight: w.get(`${name}.weight`, [outF, inF]), bias: w.maybe(`${name}.bias`, [outF]) };
}

const apply = (l: Linear, x: Tensor): Tensor => linear(x, l.weight, l.bias);

interface Norm {
  weight: Tensor; // [d]
  bias: Tensor; // [d]
}

function loadNorm(w: Weights, name: string, d: number): Norm {
  return { weight: w.get(`${name}.weight`, [d]), bias: w.get(`${name}.bias`, [d]) };
}

export class ClipEncoderLayer {
  constructor(
    readonly cfg: VisionConfig,
    readonly norm1: Norm,
    readonly q: Linear, // [D, D]
    readonly k: Linear,
    readonly v: Linear,
    readonly out: Linear,
    readonly norm2: Norm,
    readonly fc1: Linear, // [I, D]
    readonly fc2: Linear, // [D, I]
  ) {}

  static load(w: Weights, cfg: VisionConfig): ClipEncoderLayer {
    const { hiddenSize: d, intermediateSize: i } = cfg;
    return new ClipEncoderLayer(
      cfg,
      loadNorm(w, 'layer_norm1', d),
      loadLinear(w, 'self_attn.q_proj', d, d),
      loadLinear(w, 'self_attn.k_proj', d, d),
      loadLinear(w, 'self_attn.v_proj', d, d),
      loadLinear(w, 'self_attn.out_proj', d, d),
      loadNorm(w, 'layer_norm2', d),
      loadLinear(w, 'mlp.fc1', i, d),
      loadLinear(w, 'mlp.fc2', d, i),
    );
  }

  /** x [P, D] -> [P, D]. */
  forward(x: Tensor): Tensor {
    const { hiddenSize: d, numHeads: h, layerNormEps: eps } = this.cfg;
    const hd = d / h;
    const tokens = x.shape[0];
    const heads = (t: Tensor) => t.reshape([tokens, h, hd]).permute([1, 0, 2]); // [P, D] -> [H, P, hd]

    const hn = layerNorm(x, this.norm1.weight, this.norm1.bias, eps); // [P, D]
    const a = attention(heads(apply(this.q, hn)), heads(apply(this.k, hn)), heads(apply(this.v, hn))); // [H, P, hd]
    const x1 = add(x, apply(this.out, a.permute([1, 0, 2]).reshape([tokens, d]))); // [P, D]

    const hf = layerNorm(x1, this.norm2.weight, this.norm2.bias, eps);
    const act = this.cfg.hiddenAct === 'quick_gelu' ? quickGelu : gelu;
    return add(x1, apply(this.fc2, act(apply(this.fc1, hf)))); // [P, I] -> [P, D]
  }
}

export class ClipVisionTower {
  constructor(
    readonly cfg: VisionConfig,
    readonly patchEmbedding: Tensor, // [D, C, p, p]
    readonly classEmbedding: Tensor, // [D]
    readonly positionEmbedding: Tensor, // [P + 1, D]
    readonly preNorm: Norm,
    readonly layers: ClipEncoderLayer[],
  ) {}

  /**
   * `w` scopes `vision_model` (embeddings.*, pre_layrnorm, encoder.layers.N). Only the layers up to
   * `featureLayer` are loaded: LLaVA's -2 never runs the last one (12.6M parameters not read).
   */
  static load(w: Weights, cfg: VisionConfig, featureLayer = -1): ClipVisionTower {
    const { hiddenSize: d, numChannels: c, patchSize: p } = cfg;
    const positions = (cfg.imageSize / p) ** 2 + 1;
    const layers = hiddenStateIndex(featureLayer, cfg.numLayers);
    return new ClipVisionTower(
      cfg,
      w.get('embeddings.patch_embedding.weight', [d, c, p, p]),
      w.get('embeddings.class_embedding', [d]),
      w.get('embeddings.position_embedding.weight', [positions, d]),
      loadNorm(w, 'pre_layrnorm', d),
      Array.from({ length: layers }, (_, i) => ClipEncoderLayer.load(w.scope(`encoder.layers.${i}`), cfg)),
    );
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
    const grid = conv2dPatches(pixels, this.patchEmbedding); // [D, S/p, S/p]
    const patches = grid.reshape([d, -1]).transpose(); // [P, D] (row-major patch order)
    let x = concat([this.classEmbedding.to('f32').reshape([1, d]), patches.contiguous()], 0); // [P + 1, D]
    x = add(x, this.positionEmbedding);
    x = layerNorm(x, this.preNorm.weight, this.preNorm.bias, this.cfg.layerNormEps); // hidden_states[0]
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

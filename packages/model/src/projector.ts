/**
 * The multimodal projector (`mlp2x_gelu`): CLIP features into the language model's space.
 *
 *   y = linear_2(GELU(linear_1(x)))     [P, 1024] -> [P, 4096] -> [P, 4096], exact (erf) GELU
 *
 * llava-hf names the two layers `linear_1` / `linear_2`; the original checkpoint stores them as
 * the Sequential indices `0` / `2` (index 1 is the GELU).
 */
import { Tensor, gelu } from '@adsc/core';
import type { LlavaConfig } from './config.js';
import { applyLinear, loadLinear, type Linear } from './linear.js';
import type { Weights } from './weights.js';

export class Projector {
  constructor(
    readonly linear1: Linear, // [d_text, d_vision]
    readonly linear2: Linear, // [d_text, d_text]
  ) {}

  static load(w: Weights, cfg: LlavaConfig): Projector {
    const dv = cfg.vision.hiddenSize;
    const dt = cfg.text.hiddenSize;
    const [first, second] = w.has('linear_1.weight') ? ['linear_1', 'linear_2'] : ['0', '2'];
    return new Projector(loadLinear(w, first, dt, dv, 'required'), loadLinear(w, second, dt, dt, 'required'));
  }

  /** x [P, d_vision] -> [P, d_text]. */
  forward(x: Tensor): Tensor {
    return applyLinear(this.linear2, gelu(applyLinear(this.linear1, x)));
  }
}

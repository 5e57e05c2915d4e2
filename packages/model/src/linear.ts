/**
 * The one linear layer every module uses (CLIP, projector, Llama), and the LoRA adapter that can
 * ride on it.
 *
 *   y = x W^T + b                                   W [out, in] in its stored dtype, b [out]
 *   y = x W^T + b + (alpha / r) B (A dropout(x))    with a LoRA adapter: A [r, in], B [out, r]
 *
 * LoRA (Hu et al. 2021) freezes W and learns the low-rank update B A. PEFT initialises A like a
 * linear layer (Kaiming-uniform) and B to zero, so a fresh adapter changes nothing until trained.
 * Dropout applies to the adapter's input only, and only while the adapter is being trained
 * (`training`, set by the trainer): loaded for inference it is the identity. It is a flag, not
 * inferred from the tape, so that a checkpointed layer's forward (run without recording) and its
 * recomputation draw the same masks.
 */
import { add, dropout, linear, scale, type Tensor } from '@adsc/core';
import type { Weights } from './weights.js';

export interface LoraWeights {
  a: Tensor; // [r, in]
  b: Tensor; // [out, r]
  /** alpha / r */
  scaling: number;
  dropout: number;
  /** Dropout is applied only while true (the trainer sets it on the adapters it trains). */
  training?: boolean;
}

export interface Linear {
  weight: Tensor; // [out, in]
  bias?: Tensor; // [out]
  lora?: LoraWeights;
}

/** Reads `{name}.weight` [out, in] and, when present, `{name}.bias` [out]. */
export function loadLinear(w: Weights, name: string, outF: number, inF: number, bias: 'optional' | 'required' | 'none' = 'optional'): Linear {
  const weight = w.get(`${name}.weight`, [outF, inF]);
  if (bias === 'none') return { weight };
  return { weight, bias: bias === 'required' ? w.get(`${name}.bias`, [outF]) : w.maybe(`${name}.bias`, [outF]) };
}

/** x [..., in] -> [..., out]. */
export function applyLinear(l: Linear, x: Tensor): Tensor {
  const y = linear(x, l.weight, l.bias);
  const lora = l.lora;
  if (lora === undefined) return y;
  const h = linear(dropout(x, lora.dropout, lora.training === true), lora.a); // [..., r]
  return add(y, scale(linear(h, lora.b), lora.scaling)); // [..., out]
}

/**
 * LoRA on a loaded LLaVA: which linear layers an adapter targets, fresh adapters for training, and
 * a saved PEFT adapter put back on a model for inference.
 *
 * PEFT names a module by its path in the base model, e.g.
 * "language_model.model.layers.0.self_attn.q_proj" (llava-hf), the same path as the checkpoint's
 * weight name without ".weight". The model's Linear objects do not keep their names, so the path of
 * each is found from the checkpoint: the tensor object the Linear holds is the one the source
 * returned for that name.
 */
import type { Tensor } from '@adsc/core';
import type { Linear, Llava } from '@adsc/model';
import { AdapterError, initLoraA, type LoraAdapterFile, type LoraConfig } from './peft.js';
import { zeros } from '@adsc/core';

/** The projections LoRA may target in a Llama decoder layer (PEFT's target_modules names). */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** Every linear layer of the language model's decoder layers, by module path, with its target name. */
export function decoderLinears(model: Llava): Map<string, { linear: Linear; target: LoraTarget }> {
  const source = model.source;
  if (source === undefined) throw new AdapterError('the model was built without a named source (use Llava.load or Llava.fromWeights)');
  // Names of the decoder's tensors only: the source hands back the very objects the modules hold.
  const nameOf = new Map<Tensor, string>();
  for (const name of source.names()) if (/(^|\.)layers\.\d+\.(self_attn|mlp)\./.test(name) && !name.includes('vision')) nameOf.set(source.tensor(name), name);
  const out = new Map<string, { linear: Linear; target: LoraTarget }>();
  for (const layer of model.decoder.layers) {
    const { q, k, v, o, gate, up, down } = layer.w;
    const byTarget: [LoraTarget, Linear][] = [
      ['q_proj', q], ['k_proj', k], ['v_proj', v], ['o_proj', o], ['gate_proj', gate], ['up_proj', up], ['down_proj', down],
    ];
    for (const [target, linear] of byTarget) {
      const name = nameOf.get(linear.weight);
      if (name === undefined || !name.endsWith('.weight')) throw new AdapterError(`cannot find the checkpoint name of a ${target} weight`);
      out.set(name.slice(0, -'.weight'.length), { linear, target });
    }
  }
  return out;
}

/**
 * Puts fresh adapters (A Kaiming-uniform as PEFT, B zero, so the model is unchanged) on the decoder
 * projections named in `config.targetModules`; returns them by module path, as trainable leaves.
 */
export function attachNewLora(model: Llava, config: LoraConfig, seed: number): LoraAdapterFile {
  const unknown = config.targetModules.filter((t) => !(LORA_TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) throw new AdapterError(`unknown LoRA target module ${unknown.join(', ')} (known: ${LORA_TARGETS.join(', ')})`);
  const modules = new Map<string, { a: Tensor; b: Tensor }>();
  let n = 0;
  for (const [path, { linear, target }] of decoderLinears(model)) {
    if (!config.targetModules.includes(target)) continue;
    const [outF, inF] = linear.weight.shape;
    const a = initLoraA(inF, config.r, seed + 7919 * n++).requireGrad();
    const b = zeros([outF, config.r]).requireGrad();
    linear.lora = { a, b, scaling: config.loraAlpha / config.r, dropout: config.loraDropout, training: true };
    modules.set(path, { a, b });
  }
  return { config, modules };
}

/**
 * Puts a saved adapter's A and B on the modules it names: for inference (no dropout), or with
 * `training` to continue training it (dropout on, as `attachNewLora`).
 */
export function applyAdapter(model: Llava, adapter: LoraAdapterFile, dir = 'adapter', training = false): void {
  const linears = decoderLinears(model);
  for (const [path, { a, b }] of adapter.modules) {
    const found = linears.get(path);
    if (found === undefined) throw new AdapterError(`${dir}: module ${path} is not a decoder projection of this model`);
    const [outF, inF] = found.linear.weight.shape;
    if (a.shape[1] !== inF || b.shape[0] !== outF) {
      throw new AdapterError(`${dir}: module ${path} has lora_A [${a.shape}] / lora_B [${b.shape}], but the weight is [${outF}, ${inF}]`);
    }
    found.linear.lora = { a, b, scaling: adapter.config.loraAlpha / adapter.config.r, dropout: adapter.config.loraDropout, training };
  }
}

/** Takes every adapter off the decoder's projections: the model computes its base weights again. */
export function removeAdapters(model: Llava): void {
  for (const { linear } of decoderLinears(model).values()) linear.lora = undefined;
}

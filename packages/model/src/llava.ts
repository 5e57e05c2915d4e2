/**
 * LLaVA-1.5 end to end: vision tower -> projector -> merge into the prompt -> Llama decoder.
 *
 *   pixels [3, 336, 336] --CLIP--> [577, 1024] --drop CLS--> [576, 1024] --projector--> [576, 4096]
 *   prompt ids [T] --embed + splice image--> [T - 1 + 576, 4096] --32 decoder layers--> logits
 *
 * Prefill runs the decoder layers one after another over the whole prompt; a schedule may shorten
 * the sequence before any layer (ADSC, PyramidDrop) or ask a layer for its attention probabilities
 * (FastV). Decode steps then run one token through every layer against that layer's own cache.
 */
import { Tensor, checkpoint, embedding, matmul, tensor, zeros } from '@adsc/core';
import { openCheckpoint, type Checkpoint } from '@adsc/safetensors';
import { ConfigError, numPatches, readConfig, type LlavaConfig } from './config.js';
import { availableMemory, checkMemoryPlan, planMemory } from './limits.js';
import { ClipVisionTower } from './clip.js';
import { KVCache } from './kv-cache.js';
import { LlamaDecoder } from './llama.js';
import { tokenPositions, type TokenPositions } from './rope.js';
import { preprocessImage, preprocessorFor, readPreprocessorConfig, visionInput, type PreprocessorConfig } from './preprocess.js';
import type { RgbImage } from './image.js';
import { Projector } from './projector.js';
import { PromptError, mergeImage, type Sequence } from './sequence.js';
import { Weights, memoized, type TensorSource } from './weights.js';
import type { Schedule } from './schedule/schedule.js';

/** Where each part lives in the two checkpoint layouts (probed in this order). */
const PREFIXES = {
  text: ['language_model.model', 'model.language_model', 'model'],
  head: ['language_model.lm_head', 'lm_head'],
  projector: ['multi_modal_projector', 'model.multi_modal_projector', 'model.mm_projector'],
  vision: [
    'vision_tower.vision_model',
    'model.vision_tower.vision_model',
    'model.vision_tower.vision_tower.vision_model',
    'vision_tower.vision_tower.vision_model',
  ],
};

/** An image as words: per vision token, the ids of the words it shows (Llava.embedPatchWords). */
export type PatchWords = readonly (readonly number[])[];
/** What a prompt's image token stands for: pixel values [3, S, S] or patch words. */
export type ImageInput = Tensor | PatchWords;

/** What the decoder layers did to a sequence (the same for prefill and training). */
export interface DecoderRun {
  /** The sequence after the last layer: hidden [T', d], positions, the vision span that survived. */
  seq: Sequence;
  /** Sequence length each decoder layer processed. */
  tokensPerLayer: number[];
  /** Vision tokens each decoder layer processed. */
  visionTokensPerLayer: number[];
  /** Layers that ran the reference attention because the schedule needed probabilities. */
  referenceAttentionLayers: number[];
  /** For each layer, the original image features (by index) among its vision tokens. */
  visionIndicesPerLayer: Int32Array[];
}

export interface DecoderRunOptions {
  schedule?: Schedule;
  /** Inference: every layer appends its keys and values here. Training passes none. */
  cache?: KVCache;
  /** Training: keep only each layer's input and recompute the layer in the backward pass. */
  checkpoint?: boolean;
}

export interface PrefillResult extends Omit<DecoderRun, 'seq'> {
  /** Logits [V] of the last prompt position. */
  logits: Float32Array;
  cache: KVCache;
}

export interface LoadOptions {
  /** Positions the run will hold (prompt + new tokens); sizes the plan's KV cache. Default: max_position_embeddings. */
  contextTokens?: number;
  /** Load even when the memory plan is larger than the memory available. */
  force?: boolean;
}

export class Llava {
  constructor(
    readonly config: LlavaConfig,
    readonly vision: ClipVisionTower,
    readonly projector: Projector,
    readonly decoder: LlamaDecoder,
    /** Metadata of the checkpoint (e.g. the bundled demo's note that its weights are random). */
    readonly metadata: Record<string, string> = {},
    /** How images become pixel values (DIR/preprocessor_config.json, or defaults at the tower's size). */
    readonly preprocessor: PreprocessorConfig = preprocessorFor(config.vision.imageSize),
    /** The named tensors the modules hold (each read once: a module's tensor is the source's object). */
    readonly source?: TensorSource,
  ) {}

  /** Builds the model from named weights (either layout). */
  static fromWeights(
    source: TensorSource,
    config: LlavaConfig,
    origin = 'checkpoint',
    metadata: Record<string, string> = {},
    preprocessor?: PreprocessorConfig,
  ): Llava {
    const named = memoized(source);
    const w = new Weights(named, '', origin);
    const vision = w.findScope(PREFIXES.vision, 'embeddings.patch_embedding.weight');
    const text = w.findScope(PREFIXES.text, 'embed_tokens.weight');
    checkLayerCount(named, `${vision.prefix}.encoder.layers.`, config.vision.numLayers, `${origin}: vision_config num_hidden_layers`);
    checkLayerCount(named, `${text.prefix}.layers.`, config.text.numLayers, `${origin}: num_hidden_layers`);
    return new Llava(
      config,
      ClipVisionTower.load(vision, config.vision, config.visionFeatureLayer),
      Projector.load(findProjector(w), config),
      LlamaDecoder.load(text, w.findScope(PREFIXES.head, 'weight'), config.text),
      metadata,
      preprocessor,
      named,
    );
  }

  /**
   * Loads DIR/config.json, DIR/preprocessor_config.json and the safetensors weights of DIR, after
   * checking the memory plan (weights from the headers, KV cache and activations for
   * `contextTokens`) against the machine's memory; `force` skips that check.
   */
  static load(dir: string, { contextTokens, force = false }: LoadOptions = {}): Llava {
    const config = readConfig(dir);
    const preprocessor = readPreprocessorConfig(dir, config.vision.imageSize);
    const checkpoint = openCheckpoint(dir);
    try {
      const plan = planMemory(config, checkpointBytes(checkpoint), contextTokens ?? config.text.maxPositions);
      if (!force) checkMemoryPlan(plan, availableMemory(), dir);
      return Llava.fromWeights(checkpoint, config, dir, { ...checkpoint.metadata }, preprocessor);
    } catch (error) {
      checkpoint.close();
      throw error;
    }
  }

  /** Pixel values [3, S, S] of an image, processed the way this checkpoint expects; `name` is the image's file. */
  pixels(img: RgbImage, name = 'image'): Tensor {
    return preprocessImage(img, this.preprocessor, { aspect: this.config.imageAspectRatio, name });
  }

  /** The RGB image the vision tower sees for `img` (resized, cropped): one patch per vision token. */
  inputImage(img: RgbImage, name = 'image'): RgbImage {
    return visionInput(img, this.preprocessor, { aspect: this.config.imageAspectRatio, name });
  }

  /** Image features [P, d_text] of pixels [3, S, S]: tower, feature layer, CLS dropped, projector. */
  encodeImage(pixels: Tensor): Tensor {
    const hidden = this.vision.forward(pixels, this.config.visionFeatureLayer); // [P + 1, d_vision]
    const features = this.config.visionFeatureSelectStrategy === 'default' ? hidden.narrow(0, 1, hidden.shape[0] - 1) : hidden;
    return this.projector.forward(features); // [P, d_text]
  }

  /**
   * Image features [P, d_text] given as words instead of pixels: row p is the sum of the embeddings
   * of patch p's word ids ("red circle" -> embed(red) + embed(circle)), zero for a patch with none.
   * An oracle projector whose tokens say exactly what each patch shows, in the image's layout: the
   * decoder can learn to look objects up among its vision tokens before any tower can show them
   * (docs/shapes.md, 3r). Gradients reach the embedding table.
   */
  embedPatchWords(words: PatchWords): Tensor {
    const p = numPatches(this.config.vision);
    if (words.length !== p) throw new PromptError(`patch words: ${words.length} patches given, but the vision tower has ${p} vision tokens`);
    const flat = words.flat();
    if (flat.length === 0) return zeros([p, this.config.text.hiddenSize]);
    const sums = new Float32Array(p * flat.length); // [P, N]: 1 where word n belongs to patch p
    let n = 0;
    words.forEach((patch, row) => patch.forEach(() => (sums[row * flat.length + n++] = 1)));
    return matmul(tensor(sums, [p, flat.length]), embedding(this.decoder.embedTokens, flat)); // [P, d]
  }

  /** Image features [P, d_text] of pixels [3, S, S] (encodeImage) or of patch words (embedPatchWords). */
  imageFeatures(image: ImageInput): Tensor {
    return image instanceof Tensor ? this.encodeImage(image) : this.embedPatchWords(image);
  }

  /** The prompt as the decoder's input sequence, image spliced in. */
  embedPrompt(ids: readonly number[], imageFeatures?: Tensor): Sequence {
    return mergeImage(ids, this.config.imageTokenIndex, imageFeatures, (t) => embedding(this.decoder.embedTokens, t));
  }

  /**
   * Runs every decoder layer over the prompt sequence: the one forward of the decoder, shared by
   * prefill (with a cache) and training (without; gradients flow through the same ops). A schedule
   * may shorten the sequence before a layer or rank tokens by a layer's attention probabilities.
   */
  runDecoder(prompt: Sequence, opts: DecoderRunOptions = {}): DecoderRun {
    const { schedule, cache } = opts;
    const { headDim, ropeTheta } = this.config.text;
    const reduces = schedule !== undefined && schedule.plan(prompt.visionCount, this.config.text.numLayers).some((n) => n !== prompt.visionCount);
    if (reduces && prompt.visionStart + prompt.visionCount === prompt.hidden.shape[0]) {
      // The logits are read at the last prompt token and decode positions continue from it; a
      // reduction that may drop the prompt's last token would move both.
      throw new PromptError(`schedule ${schedule.spec} drops vision tokens, so the prompt needs at least one text token after the image`);
    }
    const branches = prompt.branches ?? [];
    const layers = this.config.text.numLayers;
    const ranks = () => schedule !== undefined && (schedule.referenceLayers(layers).length > 0 || (schedule.rankingLayers?.(layers).length ?? 0) > 0);
    if (branches.length > 0 && (cache || ranks())) {
      throw new PromptError(`a sequence with independent branches runs in training only, under no schedule or one that ranks nothing (got ${cache ? 'a KV cache' : `schedule ${schedule?.spec}`})`);
    }
    const run: DecoderRun = { seq: prompt, tokensPerLayer: [], visionTokensPerLayer: [], referenceAttentionLayers: [], visionIndicesPerLayer: [] };
    let seq = prompt;
    let positions: TokenPositions = tokenPositions(seq.positions, headDim, ropeTheta);
    this.decoder.layers.forEach((layer, l) => {
      seq = schedule?.beforeLayer?.(l, seq, { layer, positions }) ?? seq;
      // A schedule that dropped tokens hands over new position ids: their RoPE tables once, here.
      if (seq.positions !== positions.ids) positions = tokenPositions(seq.positions, headDim, ropeTheta);
      run.tokensPerLayer.push(seq.hidden.shape[0]);
      run.visionTokensPerLayer.push(seq.visionCount);
      run.visionIndicesPerLayer.push(seq.visionIndex);
      const withProbs = schedule?.needsProbs?.(l) ?? false;
      if (withProbs) run.referenceAttentionLayers.push(l);
      const at = positions;
      if (opts.checkpoint && !cache && !withProbs) {
        seq = { ...seq, hidden: checkpoint((x) => layer.forward(x, at, undefined, false, branches).out, [seq.hidden]) };
        return;
      }
      const { out, probs } = layer.forward(seq.hidden, at, cache?.layers[l], withProbs, branches);
      seq = { ...seq, hidden: out };
      if (probs) seq = schedule?.afterLayer?.(l, seq, probs) ?? seq;
    });
    run.seq = seq;
    return run;
  }

  /**
   * Runs every decoder layer over the prompt sequence, filling a fresh cache with room for `spare`
   * more tokens in each layer (the decode steps to come: growing a cache copies all of it).
   */
  prefill(prompt: Sequence, schedule?: Schedule, spare = 0): PrefillResult {
    const { numLayers, numKvHeads, headDim } = this.config.text;
    const cache = new KVCache(numLayers, numKvHeads, headDim, spare);
    const { seq, ...stats } = this.runDecoder(prompt, { schedule, cache });
    const last = seq.hidden.narrow(0, seq.hidden.shape[0] - 1, 1); // [1, d]
    return { logits: this.decoder.logits(last).toFloat32Array(), cache, ...stats };
  }

  /** One decode step: the logits [V] after `token`, appended to every layer's cache. */
  decodeStep(token: number, cache: KVCache): Float32Array {
    let x = embedding(this.decoder.embedTokens, [token]); // [1, d]
    const { headDim, ropeTheta } = this.config.text;
    this.decoder.layers.forEach((layer, l) => {
      // Layers may disagree on the next position (renumbered ids after PyramidDrop's drops).
      const position = tokenPositions(Int32Array.of(cache.layers[l].nextPosition), headDim, ropeTheta);
      x = layer.forward(x, position, cache.layers[l]).out;
    });
    return this.decoder.logits(x).toFloat32Array();
  }
}

/** The bytes a checkpoint's tensors take, from its headers (no tensor is read). */
export function checkpointBytes(checkpoint: Checkpoint): number {
  let bytes = 0;
  for (const name of checkpoint.names()) {
    const [begin, end] = checkpoint.info(name).dataOffsets;
    bytes += end - begin;
  }
  return bytes;
}

/**
 * Refuses a checkpoint with more layers under `prefix` (e.g. "model.layers.") than the config's
 * `count`: loading only the first `count` would silently run a different, truncated model.
 */
function checkLayerCount(source: TensorSource, prefix: string, count: number, field: string): void {
  let layers = 0;
  for (const name of source.names()) {
    if (!name.startsWith(prefix)) continue;
    const index = Number.parseInt(name.slice(prefix.length), 10);
    if (index + 1 > layers) layers = index + 1;
  }
  if (layers > count) {
    throw new ConfigError(`${field} is ${count}, but the checkpoint has ${layers} layers (${prefix}0 to ${prefix}${layers - 1})`, 'LayerCountMismatch');
  }
}

function findProjector(w: Weights): Weights {
  for (const p of PREFIXES.projector) {
    if (w.has(`${p}.linear_1.weight`) || w.has(`${p}.0.weight`)) return w.scope(p);
  }
  return w.findScope(PREFIXES.projector, 'linear_1.weight');
}

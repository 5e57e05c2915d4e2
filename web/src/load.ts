/**
 * The model and its adapters, fetched from the static site (the build copies them under models/):
 * the same parsers `adsc run` uses on files, fed with the fetched bytes.
 *
 *   models/manifest.json                       {"model": "shapes-llava", "adapters": [{"name", "schedule"}]}
 *   models/shapes-llava/config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json,
 *                       model.safetensors
 *   models/adapters/<name>/adapter_config.json, adapter_model.safetensors
 */
import { Llava, LlavaTokenizer, parseConfig, parsePreprocessorConfig } from '@adsc/model';
import { SafetensorsBytes } from '@adsc/safetensors';
import { applyAdapter, parseAdapter, removeAdapters, type LoraAdapterFile } from '@adsc/train';

export interface Manifest {
  model: string;
  adapters: { name: string; schedule?: string }[];
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

const json = async (url: string): Promise<unknown> => {
  const text = await (await fetchOk(url)).text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${url}: not JSON (${(e as Error).message})`);
  }
};
const bytes = async (url: string) => new Uint8Array(await (await fetchOk(url)).arrayBuffer());

export async function loadManifest(base: string): Promise<Manifest> {
  return (await json(`${base}/manifest.json`)) as Manifest;
}

/** The model directory `dir` (a URL): config, preprocessor, tokenizer and weights. */
export async function loadModel(dir: string): Promise<{ model: Llava; tokenizer: LlavaTokenizer }> {
  const [config, preprocessor, tokenizerJson, tokenizerConfig, weights] = await Promise.all([
    json(`${dir}/config.json`),
    json(`${dir}/preprocessor_config.json`),
    json(`${dir}/tokenizer.json`),
    json(`${dir}/tokenizer_config.json`),
    bytes(`${dir}/model.safetensors`),
  ]);
  const cfg = parseConfig(config, `${dir}/config.json`);
  const file = new SafetensorsBytes(weights, `${dir}/model.safetensors`);
  const model = Llava.fromWeights(file, cfg, dir, { ...file.metadata }, parsePreprocessorConfig(preprocessor, `${dir}/preprocessor_config.json`));
  const tokenizer = LlavaTokenizer.fromJson(tokenizerJson, tokenizerConfig, cfg.imageTokenIndex, cfg.bosTokenId, `${dir}/tokenizer.json`);
  return { model, tokenizer };
}

/** A PEFT adapter directory `dir` (a URL). */
export async function loadAdapterFrom(dir: string): Promise<LoraAdapterFile> {
  const [config, weights] = await Promise.all([fetchOk(`${dir}/adapter_config.json`).then((r) => r.text()), bytes(`${dir}/adapter_model.safetensors`)]);
  const source = `${dir}/adapter_model.safetensors`;
  return parseAdapter(config, new SafetensorsBytes(weights, source), `${dir}/adapter_config.json`, source);
}

/** `adapter` applied to `model` in place of any earlier one; undefined leaves the base model. */
export function setAdapter(model: Llava, adapter: LoraAdapterFile | undefined, name = 'adapter'): void {
  removeAdapters(model);
  if (adapter) applyAdapter(model, adapter, name);
}

/**
 * The page: load the shapes model once, then for the state in the URL (state.ts) make or take an
 * image, answer the question under the chosen schedule (session.ts) and draw what happened.
 *
 * When a run finishes, #answer holds the answer and <body data-state="done">; a failure sets
 * data-state="error" with the message in #error. <body data-attention> says where the attention
 * ran ("webgl2", "webgl" or "cpu") and data-gpu-calls how many attention calls the gpu.js kernels
 * served in the last run.
 */
import { createGpuAttention, useGpuAttention, type GpuAttention } from '@adsc/attention';
import { getKernel } from '@adsc/core';
import { createRgbImage, type Llava, type LlavaTokenizer, type RgbImage } from '@adsc/model';
import type { LoraAdapterFile } from '@adsc/train';
import { tokensChart } from './chart.js';
import { loadAdapterFrom, loadManifest, loadModel, setAdapter, type Manifest } from './load.js';
import { METHODS, resolveMethod } from './methods.js';
import { drawOverlay } from './overlay.js';
import { ask, scene, type Answer } from './session.js';
import { formatState, parseState, type PageState } from './state.js';

const MODELS = 'models';
const SCALE = 2;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  seed: $<HTMLInputElement>('seed'),
  newScene: $<HTMLButtonElement>('new-scene'),
  upload: $<HTMLInputElement>('upload'),
  question: $<HTMLInputElement>('question'),
  method: $<HTMLSelectElement>('method'),
  spec: $<HTMLInputElement>('spec'),
  adapter: $<HTMLSelectElement>('adapter'),
  run: $<HTMLButtonElement>('run'),
  layer: $<HTMLInputElement>('layer'),
  layerLabel: $('layer-label'),
  overlay: $<HTMLCanvasElement>('overlay'),
  answer: $('answer'),
  expected: $('expected'),
  chart: $('chart'),
  cost: $('cost'),
  backend: $('backend'),
  timings: $('timings'),
  error: $('error'),
  status: $('status'),
};

interface Loaded {
  model: Llava;
  tokenizer: LlavaTokenizer;
  manifest: Manifest;
  adapters: Map<string, LoraAdapterFile>;
  attention: { mode: string; note: string; calls: number };
}

let loaded: Loaded | undefined;
let state: PageState;
let uploaded: { name: string; image: RgbImage } | undefined;
let last: { answer: Answer; image: RgbImage } | undefined;
/** The generated scene's own question: a question box that still holds it is not a custom question. */
let sceneQuestion: string | undefined;

function setStatus(kind: 'loading' | 'running' | 'done' | 'error', text: string): void {
  document.body.dataset.state = kind;
  ui.status.textContent = text;
}

function fail(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  ui.error.textContent = message;
  ui.error.hidden = false;
  setStatus('error', 'failed');
  console.error(e);
}

/** gpu.js on WebGL2, else WebGL1, else the CPU kernel with the reason; counts the calls it serves. */
async function chooseAttention(wanted: PageState['attention']): Promise<Loaded['attention']> {
  const attention = { mode: 'cpu', note: 'asked for (attention=cpu)', calls: 0 };
  if (wanted === 'cpu') return attention;
  const reasons: string[] = [];
  for (const mode of ['webgl2', 'webgl'] as const) {
    try {
      const gpu = await createGpuAttention({ mode });
      const counting: GpuAttention = { mode: gpu.mode, destroy: () => gpu.destroy(), attention: (...args) => (attention.calls++, gpu.attention(...args)) };
      useGpuAttention(counting);
      return Object.assign(attention, { mode: gpu.mode, note: 'gpu.js, tiled online-softmax kernels' });
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  attention.note = `gpu.js could not run here, so the CPU kernel did: ${reasons.join('; ')}`;
  return attention;
}

async function load(): Promise<Loaded> {
  setStatus('loading', 'loading the model');
  const manifest = await loadManifest(MODELS);
  const { model, tokenizer } = await loadModel(`${MODELS}/${manifest.model}`);
  const attention = await chooseAttention(state.attention);
  for (const m of METHODS) ui.method.add(new Option(`${m.name}: ${m.label}`, m.name));
  ui.method.add(new Option('custom --schedule spec', 'custom'));
  ui.adapter.add(new Option('none', 'none'));
  for (const a of manifest.adapters) ui.adapter.add(new Option(`${a.name}${a.schedule ? ` (tuned for ${a.schedule})` : ''}`, a.name));
  return { model, tokenizer, manifest, adapters: new Map(), attention };
}

async function adapterNamed(name: string): Promise<LoraAdapterFile> {
  const l = loaded!;
  if (!l.manifest.adapters.some((a) => a.name === name)) {
    throw new Error(`adapter ${JSON.stringify(name)} is not on this site (there are: ${l.manifest.adapters.map((a) => a.name).join(', ')})`);
  }
  let adapter = l.adapters.get(name);
  if (!adapter) l.adapters.set(name, (adapter = await loadAdapterFrom(`${MODELS}/adapters/${name}`)));
  return adapter;
}

/** The controls show `state`. */
function showState(): void {
  ui.seed.value = String(state.seed);
  const method = METHODS.find((m) => m.name === state.schedule);
  ui.method.value = method ? method.name : 'custom';
  const { schedule, adapter } = resolveMethod(state.schedule, state.adapter);
  ui.spec.value = schedule;
  ui.spec.disabled = method !== undefined;
  ui.adapter.value = adapter ?? 'none';
}

/** `state` from the controls, written to the URL (every state is a link). */
function readControls(): void {
  const custom = ui.method.value === 'custom';
  const method = METHODS.find((m) => m.name === ui.method.value);
  const adapter = ui.adapter.value;
  state = {
    ...state,
    seed: Number(ui.seed.value),
    question: ui.question.value.trim() === sceneQuestion ? undefined : ui.question.value.trim() || undefined,
    schedule: custom ? ui.spec.value.trim() || 'none' : ui.method.value,
    adapter: adapter === (method?.adapter ?? 'none') ? undefined : adapter,
  };
  history.replaceState(null, '', `${location.pathname}${formatState(state)}`);
}

async function run(): Promise<void> {
  const l = loaded!;
  setStatus('running', 'answering');
  ui.error.hidden = true;
  await new Promise((resolve) => setTimeout(resolve, 0)); // let the status paint before the model blocks the thread

  const generated = uploaded ? undefined : scene(state.seed, state.objects, state.sizes);
  const image = uploaded?.image ?? generated!.image;
  const question = state.question ?? generated?.record.text ?? 'What color is the circle?';
  ui.question.value = question;
  sceneQuestion = generated?.record.text;
  ui.expected.textContent = generated && state.question === undefined ? `right answer: ${generated.record.answer}` : uploaded ? `uploaded: ${uploaded.name}` : '';

  const { schedule, adapter } = resolveMethod(state.schedule, state.adapter);
  setAdapter(l.model, adapter ? await adapterNamed(adapter) : undefined, adapter);
  l.attention.calls = 0;
  const answer = ask(l.model, l.tokenizer, image, question, schedule);
  last = { answer, image: l.model.inputImage(image) };

  ui.answer.textContent = answer.answer;
  const layers = answer.tokensPerLayer.length;
  ui.layer.max = String(layers - 1);
  ui.layer.value = String(Math.min(state.layer ?? layers - 1, layers - 1));
  drawLayer();
  showCost(answer, adapter);
  document.body.dataset.attention = l.attention.mode;
  document.body.dataset.matmul = getKernel();
  document.body.dataset.gpuCalls = String(l.attention.calls);
  const cpuLayers = answer.referenceAttentionLayers.length ? `; layer ${answer.referenceAttentionLayers.join(', ')} on the CPU reference attention (the schedule ranks by its probabilities)` : '';
  ui.backend.textContent = `attention: ${l.attention.mode} (${l.attention.note}), ${l.attention.calls} calls${cpuLayers}; matmuls: ${getKernel() === 'wasm' ? 'WebAssembly SIMD kernel' : 'JavaScript kernel (this browser has no WebAssembly SIMD)'}`;
  const t = answer.timings;
  ui.timings.textContent = `vision tower ${t.vision.toFixed(0)} ms, prefill ${t.prefill.toFixed(0)} ms, ${t.decode.length} decode steps ${t.decode.reduce((s, x) => s + x, 0).toFixed(0)} ms`;
  setStatus('done', 'done');
}

function drawLayer(): void {
  if (!last) return;
  const layer = Number(ui.layer.value);
  const { answer, image } = last;
  const patch = loaded!.model.config.vision.patchSize;
  drawOverlay(ui.overlay, image, patch, answer.keptPerLayer[layer], SCALE);
  ui.overlay.dataset.layer = String(layer);
  ui.layerLabel.textContent = `decoder layer ${layer}: ${answer.visionTokensPerLayer[layer]} of ${answer.visionTokensPerLayer[0]} vision tokens`;
  ui.chart.innerHTML = tokensChart({ ...answer, selected: layer });
}

function showCost(a: Answer, adapter: string | undefined): void {
  const pct = (s: number, b: number) => (b === 0 ? '0' : `${(-100 * (1 - s / b)).toFixed(1)} %`);
  const g = (x: number) => `${(x / 1e6).toFixed(1)} MFLOP`;
  const kv = (x: number) => `${(x / 1e3).toFixed(1)} k`;
  ui.cost.innerHTML = [
    `<tr><th></th><th>this run</th><th>no schedule</th><th>change</th></tr>`,
    `<tr><td>prefill FLOPs (counted)</td><td>${g(a.flops.scheduled)}</td><td>${g(a.flops.baseline)}</td><td>${pct(a.flops.scheduled, a.flops.baseline)}</td></tr>`,
    `<tr><td>of which decoder layers</td><td>${g(a.decoderFlops.scheduled)}</td><td>${g(a.decoderFlops.baseline)}</td><td>${pct(a.decoderFlops.scheduled, a.decoderFlops.baseline)}</td></tr>`,
    `<tr><td>KV cache elements</td><td>${kv(a.kv.scheduled)}</td><td>${kv(a.kv.baseline)}</td><td>${pct(a.kv.scheduled, a.kv.baseline)}</td></tr>`,
    `<tr><td colspan="4">schedule <code>${a.schedule}</code>, adapter ${adapter ?? 'none'}</td></tr>`,
  ].join('');
}

async function decodeUpload(file: File): Promise<RgbImage> {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [bitmap.width, bitmap.height];
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  const img = createRgbImage(bitmap.width, bitmap.height);
  for (let p = 0; p < bitmap.width * bitmap.height; p++) img.data.set(data.subarray(4 * p, 4 * p + 3), 3 * p);
  return img;
}

function wire(): void {
  const rerun = () => {
    readControls();
    run().catch(fail);
  };
  ui.run.addEventListener('click', rerun);
  ui.method.addEventListener('change', () => {
    ui.adapter.value = METHODS.find((m) => m.name === ui.method.value)?.adapter ?? 'none';
    ui.spec.disabled = ui.method.value !== 'custom';
    if (ui.method.value !== 'custom') ui.spec.value = resolveMethod(ui.method.value, undefined).schedule;
    rerun();
  });
  ui.adapter.addEventListener('change', rerun);
  ui.spec.addEventListener('change', rerun);
  ui.seed.addEventListener('change', () => {
    uploaded = undefined;
    ui.question.value = '';
    rerun();
  });
  ui.newScene.addEventListener('click', () => {
    uploaded = undefined;
    ui.seed.value = String((Number(ui.seed.value) + 1) >>> 0);
    ui.question.value = '';
    rerun();
  });
  ui.question.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') rerun();
  });
  ui.upload.addEventListener('change', async () => {
    const file = ui.upload.files?.[0];
    if (!file) return;
    try {
      uploaded = { name: file.name, image: await decodeUpload(file) };
      rerun();
    } catch (e) {
      fail(new Error(`${file.name}: this browser cannot decode it as an image (${(e as Error).message})`));
    }
  });
  ui.layer.addEventListener('input', () => {
    state = { ...state, layer: Number(ui.layer.value) };
    history.replaceState(null, '', `${location.pathname}${formatState(state)}`);
    drawLayer();
  });
}

async function main(): Promise<void> {
  state = parseState(location.search);
  loaded = await load();
  showState();
  wire();
  await run();
}

main().catch(fail);

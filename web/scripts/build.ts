/**
 * `pnpm web:build`: the static site in web/dist, runnable from any static file server, offline.
 *
 *   page.js, page.js.map   web/src/page.ts and the packages it uses, bundled by esbuild for the browser
 *   index.html, style.css  from web/static
 *   models/manifest.json   the model's folder and the adapters with the schedule each was tuned for
 *   models/shapes-llava/   config, preprocessor, tokenizer and weights of the checkpoint
 *   models/adapters/NAME/  every adapter tuned for it (MODEL/adapters/NAME)
 *
 * Every adapter is loaded with loadAdapter first (the checks a browser cannot run, such as the
 * pairing of its two files), and the site is assembled in a temporary folder renamed into place,
 * so a failed build leaves the previous site as it was.
 *
 *   tsx web/scripts/build.ts [--out DIR] [--model DIR] [--adapters DIR]   (default: checkpoints/binding of
 *   examples/shapes-llava and its adapters/)
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { loadAdapter } from '@adsc/train';
import { browserShims } from './browser-shims.js';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(WEB, '..');
const MODEL_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'];

export interface BuildOptions {
  out?: string;
  model?: string;
  adapters?: string;
}

export async function buildSite({
  out = join(WEB, 'dist'),
  model = join(ROOT, 'examples/shapes-llava/checkpoints/binding'),
  adapters = join(model, 'adapters'),
}: BuildOptions = {}): Promise<string> {
  const missing = MODEL_FILES.filter((f) => !existsSync(join(model, f)));
  if (missing.length) throw new Error(`--model ${model}: missing ${missing.join(', ')}`);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'models/shapes-llava'), { recursive: true });
  try {
    await build({
      entryPoints: [join(WEB, 'src/page.ts')],
      outfile: join(tmp, 'page.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      sourcemap: true,
      plugins: [browserShims],
      logLevel: 'warning',
    });
    for (const f of ['index.html', 'style.css']) copyFileSync(join(WEB, 'static', f), join(tmp, f));
    for (const f of MODEL_FILES) copyFileSync(join(model, f), join(tmp, 'models/shapes-llava', f));

    const manifest: { model: string; adapters: { name: string; schedule?: string }[] } = { model: 'shapes-llava', adapters: [] };
    for (const name of existsSync(adapters) ? readdirSync(adapters).sort() : []) {
      const dir = join(adapters, name);
      const adapter = loadAdapter(dir);
      mkdirSync(join(tmp, 'models/adapters', name), { recursive: true });
      for (const f of ['adapter_config.json', 'adapter_model.safetensors']) copyFileSync(join(dir, f), join(tmp, 'models/adapters', name, f));
      manifest.adapters.push({ name, schedule: adapter.config.adscSchedule });
    }
    writeFileSync(join(tmp, 'models/manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
    return out;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  if (i + 1 >= args.length) throw new Error(`${name} needs a value`);
  return args[i + 1];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const args = process.argv.slice(2);
    const out = await buildSite({ out: flag(args, '--out'), model: flag(args, '--model'), adapters: flag(args, '--adapters') });
    console.log(`wrote ${out}`);
  } catch (e) {
    console.error(`web build: ${(e as Error).message.split('\n')[0]}`);
    process.exit(2);
  }
}

/**
 * Cross-package checks on the bundled demo (examples/tiny-llava, random weights): every schedule
 * preset runs on the real file set, the KV cache it fills is the one the accounting counts, and a
 * checkpoint re-saved in other dtypes through @adsc/safetensors loads back into the same model.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectClose } from '@adsc/core/testing';
import { Llava, countPrefill, countSchedule, generate, parseSchedule, readImage } from '@adsc/model';
import { openCheckpoint, saveSharded } from '@adsc/safetensors';

const root = new URL('../', import.meta.url).pathname;
const demoDir = join(root, 'examples/tiny-llava');
const demo = Llava.load(demoDir);
const pixels = demo.pixels(readImage(join(root, 'examples/images/demo.png')));
const ids = [1, 299, 273, 271, 266, 270, 262, 299, 500, 299, 13, 332, 305]; // BOS, "USER:", <image>, a few words

describe('the bundled demo under every preset', () => {
  for (const spec of ['none', 'adsc', 'fastv', 'pdrop']) {
    it(`${spec}: the run follows the plan and holds the counted KV elements`, () => {
      const schedule = parseSchedule(spec, { numLayers: 32 });
      const r = generate(demo, ids, pixels, { maxNewTokens: 2, schedule });
      expect(r.visionTokensPerLayer).toEqual(schedule.plan(576, 32));
      expect(r.kvCacheElements).toBe(countPrefill(demo.config, r.tokensPerLayer, r.visionTokensPerLayer).kvCacheElements);
      // 12 text tokens around the image: the accounting with --text-tokens 12 predicts the same cache.
      expect(r.kvCacheElements).toBe(countSchedule(demo.config, schedule, { textTokens: ids.length - 1 }).scheduled.kvCacheElements);
    });
  }
});

describe('a checkpoint round trip through @adsc/safetensors', () => {
  it('re-saved as bf16 shards, the demo loads again and agrees within bf16 rounding', () => {
    const source = openCheckpoint(demoDir);
    const tensors = Object.fromEntries(source.names().map((n) => [n, source.tensor(n).to('bf16')]));
    source.close();
    const dir = mkdtempSync(join(tmpdir(), 'adsc-roundtrip-'));
    saveSharded(dir, tensors, { maxShardBytes: 1 << 20 });
    for (const file of ['config.json', 'preprocessor_config.json', 'generation_config.json']) {
      copyFileSync(join(demoDir, file), join(dir, file));
    }
    const copy = Llava.load(dir);
    expect(copy.decoder.layers[0].w.q.weight.dtype).toBe('bf16');
    const a = generate(demo, ids, pixels, { maxNewTokens: 1 }).prefillLogits;
    const b = generate(copy, ids, pixels, { maxNewTokens: 1 }).prefillLogits;
    // f16 -> bf16 keeps 8 of 11 mantissa bits; on this random model the logits move by ~1e-2.
    expectClose(b, a, { atol: 0.1 });
    expect(b).not.toEqual(a);
  });
});

import { describe, expect, it } from 'vitest';
import { expectClose, readGolden } from '../src/testing.js';
import { erf, gelu, geluTanh, quickGelu, silu, tensor } from '../src/index.js';

const golden = readGolden(new URL('./fixtures/ops.json', import.meta.url));
const x = golden['act.x']; // 161 points on [-8, 8]

describe('activations', () => {
  it('silu matches PyTorch', () => expectClose(silu(x), golden['act.silu'], { atol: 1e-6 }));
  it('gelu (exact erf form) matches PyTorch', () => expectClose(gelu(x), golden['act.gelu'], { atol: 1e-6 }));
  it('geluTanh matches PyTorch approximate="tanh"', () => expectClose(geluTanh(x), golden['act.gelu_tanh'], { atol: 1e-6 }));
  it('quickGelu matches x * sigmoid(1.702 x) in PyTorch', () => expectClose(quickGelu(x), golden['act.quick_gelu'], { atol: 1e-6 }));

  it('silu(0) = 0 and silu(x) -> x for large x', () => {
    expectClose(silu(tensor([0, 30], [2])), [0, 30], { atol: 1e-6 });
  });

  it('erf is odd and saturates at 1', () => {
    expect(erf(0)).toBeCloseTo(0, 7);
    expect(erf(-0.5)).toBeCloseTo(-erf(0.5), 12);
    expect(erf(6)).toBeCloseTo(1, 7);
    expect(erf(1)).toBeCloseTo(0.8427007929, 6); // tabulated value
  });
});

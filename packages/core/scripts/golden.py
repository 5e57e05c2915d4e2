"""Golden outputs of PyTorch for @adsc/core's ops (run: OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3
packages/core/scripts/golden.py). Writes test/fixtures/ops.json as {name: {shape, data}}.

Inputs are generated here with a fixed torch seed and stored next to the outputs, so the tests feed
exactly the same numbers to our ops. Everything is float32."""
import json
import os

import torch

torch.manual_seed(0)
out = {}


def encode(v):
    """JSON has no NaN or infinities: write them as the strings readGolden understands."""
    if v != v:
        return "NaN"
    if abs(v) == float("inf"):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def put(name, t):
    t = t.detach().to(torch.float32).contiguous()
    out[name] = {"shape": list(t.shape), "data": [encode(v) for v in t.flatten().tolist()]}


# Activations on a range that covers both tails.
x = torch.linspace(-8, 8, 161)
put("act.x", x)
put("act.gelu", torch.nn.functional.gelu(x))
put("act.gelu_tanh", torch.nn.functional.gelu(x, approximate="tanh"))
put("act.silu", torch.nn.functional.silu(x))
put("act.quick_gelu", x * torch.sigmoid(1.702 * x))

# Softmax, RMSNorm (Llama's formula) and LayerNorm over the last axis.
s = torch.randn(3, 5, 17) * 4
put("softmax.x", s)
put("softmax.y", torch.softmax(s, dim=-1))
put("softmax.y_axis1", torch.softmax(s, dim=1))
w = torch.randn(17)
b = torch.randn(17)
put("norm.w", w)
put("norm.b", b)
put("rmsnorm.y", w * (s * torch.rsqrt(s.pow(2).mean(-1, keepdim=True) + 1e-5)))
put("layernorm.y", torch.nn.functional.layer_norm(s, (17,), w, b, eps=1e-5))

# Batched matmul with broadcast batch axes and sizes that are not multiples of the 4 x 8 tile.
a = torch.randn(2, 1, 13, 37)
m = torch.randn(3, 37, 19)
put("matmul.a", a)
put("matmul.b", m)
put("matmul.y", torch.matmul(a, m))

# Linear with bias, PyTorch's [out, in] layout.
lx = torch.randn(5, 33)
lw = torch.randn(21, 33)
lb = torch.randn(21)
put("linear.x", lx)
put("linear.w", lw)
put("linear.b", lb)
put("linear.y", torch.nn.functional.linear(lx, lw, lb))

# ViT patch embedding: conv2d with stride = kernel.
img = torch.randn(2, 3, 12, 8)
cw = torch.randn(5, 3, 4, 4)
cb = torch.randn(5)
put("conv.x", img)
put("conv.w", cw)
put("conv.b", cb)
put("conv.y", torch.nn.functional.conv2d(img, cw, cb, stride=4))

# Half precision round trips: values chosen to hit rounding ties, subnormals and overflow.
h = torch.tensor([0.0, -0.0, 1.0, 1.0 + 2**-11, 1.0 + 3 * 2**-11, 65504.0, 65520.0, 2**-24, 2**-25, 3 * 2**-26, -2.5, 1e-8, 0.1])
put("half.x", h)
put("half.f16", h.to(torch.float16).to(torch.float32))
put("half.bf16", h.to(torch.bfloat16).to(torch.float32))

path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "ops.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {path}: {len(out)} arrays")

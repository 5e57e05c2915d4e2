"""PyTorch's gradients for every differentiable op of @adsc/core (run:
OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 packages/core/scripts/grad_golden.py).
Writes test/fixtures/grads.json as {name: {shape, data}}.

Each case stores its inputs (float32 values), the upstream gradient G of the output, and
d(sum(out * G))/d(input) for every input, computed by torch.autograd in float64 from the same
float32 values. test/gradients.test.ts runs our op on the same inputs, back-propagates G and
compares."""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1)
out = {}


def put(name, t):
    t = t.detach().to(torch.float32).contiguous()
    out[name] = {"shape": list(t.shape), "data": t.flatten().tolist()}


def case(name, fn, inputs, grad_inputs=None):
    """inputs: dict name -> float32 tensor (or non-tensor extras passed through)."""
    tensors = {}
    for k, v in inputs.items():
        put(f"{name}.{k}", v)
        t = v.to(torch.float64).clone()
        if grad_inputs is None or k in grad_inputs:
            t.requires_grad_(True)
        tensors[k] = t
    y = fn(**tensors)
    g = torch.randn(y.shape, dtype=torch.float32)
    put(f"{name}.G", g)
    put(f"{name}.out", y)
    (y * g.to(torch.float64)).sum().backward()
    for k, t in tensors.items():
        if t.requires_grad:
            put(f"{name}.d{k}", t.grad)


r = lambda *s: torch.randn(*s)
case("add", lambda a, b: a + b, {"a": r(3, 4), "b": r(4)})
case("sub", lambda a, b: a - b, {"a": r(2, 1, 3), "b": r(4, 3)})
case("mul", lambda a, b: a * b, {"a": r(3, 4), "b": r(3, 1)})
case("div", lambda a, b: a / b, {"a": r(3, 4), "b": r(3, 4).abs() + 0.5})
case("neg", lambda x: -x, {"x": r(2, 3)})
case("exp", lambda x: x.exp(), {"x": r(2, 3)})
case("sqrt", lambda x: x.sqrt(), {"x": r(2, 3).abs() + 0.2})
case("scale", lambda x: x * 2.5, {"x": r(2, 3)})
case("silu", lambda x: F.silu(x), {"x": r(5, 7) * 3})
case("gelu", lambda x: F.gelu(x), {"x": r(5, 7) * 3})
case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), {"x": r(5, 7) * 3})
case("quick_gelu", lambda x: x * torch.sigmoid(1.702 * x), {"x": r(5, 7) * 3})
case("sum", lambda x: x.sum(1), {"x": r(2, 3, 4)})
case("mean", lambda x: x.mean(0, keepdim=True), {"x": r(3, 4)})
case("max", lambda x: x.max(-1).values, {"x": r(3, 5)})
case("softmax", lambda x: torch.softmax(x, -1), {"x": r(2, 3, 4) * 3})
case("softmax_axis1", lambda x: torch.softmax(x, 1), {"x": r(2, 3, 4) * 3})


def rms_norm(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))


case("rmsnorm", rms_norm, {"x": r(4, 8) * 2, "w": r(8)})
case("layernorm", lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5), {"x": r(4, 8) * 2, "w": r(8), "b": r(8)})
case("concat", lambda a, b: torch.cat([a, b], 1), {"a": r(2, 3), "b": r(2, 2)})
case("index_select", lambda x: x.index_select(0, torch.tensor([0, 2, 2])), {"x": r(4, 3)})
case("embedding", lambda w: F.embedding(torch.tensor([1, 3, 1, 5]), w), {"w": r(6, 4)})
case("matmul", lambda a, b: a @ b, {"a": r(2, 3, 4), "b": r(4, 5)})
case("matmul_vec", lambda a, b: a @ b, {"a": r(4), "b": r(2, 4, 5)})
case("linear", lambda x, w, b: F.linear(x, w, b), {"x": r(2, 3, 4), "w": r(5, 4), "b": r(5)})
case("conv2d_patches", lambda x, w, b: F.conv2d(x, w, b, stride=3), {"x": r(1, 3, 6, 6), "w": r(4, 3, 3, 3), "b": r(4)})
targets = torch.tensor([1, -100, 3, 6, 0])
case("cross_entropy", lambda x: F.cross_entropy(x, targets, ignore_index=-100), {"x": r(5, 7) * 2})
case("cross_entropy_sum", lambda x: F.cross_entropy(x, targets, ignore_index=-100, reduction="sum"), {"x": r(5, 7) * 2})
case("views", lambda x: x.permute(2, 0, 1).narrow(1, 1, 2).reshape(4, 2, 3).transpose(0, 2).unsqueeze(0).squeeze(0), {"x": r(3, 3, 4)})
case("expand", lambda x: x.expand(2, 3, 4) * 1.0, {"x": r(3, 1)})

path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "grads.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {len(out)} arrays to {os.path.normpath(path)}")

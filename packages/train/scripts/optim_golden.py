"""Golden outputs of torch.optim.AdamW, torch.optim.SGD and clip_grad_norm_ for @adsc/train (run:
OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 packages/train/scripts/optim_golden.py). Writes
test/fixtures/optim.json as {name: {shape, data}}.

Two parameters, a matrix "w" [2, 3] (weight decay on) and a vector "b" [3] (decay off, as
defaultDecay decides), take three steps with fixed gradients. In the AdamW runs "b" has no gradient
in step 2 (grad None), so its own step count, and with it the bias correction, lags one behind.
Inputs are stored next to the outputs so the tests feed the same numbers. Everything is float32."""
import json
import os

import torch

torch.manual_seed(0)
out = {}


def put(name, t):
    t = t.detach().to(torch.float32).contiguous()
    out[name] = {"shape": list(t.shape), "data": t.flatten().tolist()}


w0 = torch.randn(2, 3)
b0 = torch.randn(3)
grads = [(torch.randn(2, 3), torch.randn(3)) for _ in range(3)]
put("w0", w0)
put("b0", b0)
for k, (gw, gb) in enumerate(grads, 1):
    put(f"grad{k}.w", gw)
    put(f"grad{k}.b", gb)


def run(name, make, lr, skip_b_at=None):
    w = torch.nn.Parameter(w0.clone())
    b = torch.nn.Parameter(b0.clone())
    opt = make(w, b)
    for k, (gw, gb) in enumerate(grads, 1):
        w.grad = gw.clone()
        b.grad = None if k == skip_b_at else gb.clone()
        opt.step()
        put(f"{name}.step{k}.w", w)
        put(f"{name}.step{k}.b", b)


def groups(w, b, wd):
    return [{"params": [w], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}]


run("adamw", lambda w, b: torch.optim.AdamW(groups(w, b, 0.1), lr=0.01), 0.01, skip_b_at=2)
run("adamw_nodecay", lambda w, b: torch.optim.AdamW(groups(w, b, 0.0), lr=0.01), 0.01, skip_b_at=2)
run("sgd", lambda w, b: torch.optim.SGD(groups(w, b, 0.0), lr=0.1), 0.1)
run("sgd_momentum_decay", lambda w, b: torch.optim.SGD(groups(w, b, 0.05), lr=0.1, momentum=0.9), 0.1)

# Global-norm clipping over both gradients of step 1: once with a max below the total (scaled),
# once above it (untouched).
for name, max_norm in (("clip_small", 0.5), ("clip_large", 100.0)):
    w = torch.nn.Parameter(w0.clone())
    b = torch.nn.Parameter(b0.clone())
    w.grad, b.grad = grads[0][0].clone(), grads[0][1].clone()
    total = torch.nn.utils.clip_grad_norm_([w, b], max_norm)
    put(f"{name}.total", total.reshape(1))
    put(f"{name}.w", w.grad)
    put(f"{name}.b", b.grad)

path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "optim.json")
with open(path, "w") as f:
    json.dump(out, f)
print(f"wrote {len(out)} arrays to {os.path.normpath(path)} (torch {torch.__version__})")

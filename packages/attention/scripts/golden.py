"""Golden outputs of PyTorch for @adsc/attention (run from the repo root:
OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 packages/attention/scripts/golden.py).
Writes packages/attention/test/fixtures/attention.json as {name: {shape, data}}.

torch 1.13 has no scaled_dot_product_attention, so attention is written out here the textbook way:
S = scale * Q K^T, masked entries -inf, softmax over keys, times V. Inputs are float32 (stored
next to the outputs so the tests feed exactly the same numbers); the arithmetic runs in float64
and the results are rounded to float32. Grouped-query attention repeats each key/value head for
its Hq / Hkv query heads (repeat_interleave, as Llama does). A row that sees no key is written as
zeros: torch's softmax of an all -inf row is NaN, the project's contract is zeros."""
import json
import math
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
    return float("%.9g" % v)  # 9 significant digits round-trip a float32


def put(name, t):
    t = t.detach().to(torch.float32).contiguous()
    out[name] = {"shape": list(t.shape), "data": [encode(v) for v in t.flatten().tolist()]}


def attention(q, k, v, causal=False, query_offset=None):
    """q [Hq, Tq, D], k and v [Hkv, Tk, D] (float32) -> (out [Hq, Tq, D], probs [Hq, Tq, Tk])."""
    hq, tq, d = q.shape
    hkv, tk, _ = k.shape
    q, k, v = q.double(), k.double(), v.double()
    k = k.repeat_interleave(hq // hkv, dim=0)
    v = v.repeat_interleave(hq // hkv, dim=0)
    s = (q @ k.transpose(1, 2)) / math.sqrt(d)
    if causal:
        offset = tk - tq if query_offset is None else query_offset
        i = torch.arange(tq).unsqueeze(1)
        j = torch.arange(tk).unsqueeze(0)
        s = s.masked_fill(j > offset + i, float("-inf"))
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0)  # rows that see no key: zeros
    return p @ v, p


def case(name, q, k, v, with_probs=False, **mask):
    o, p = attention(q, k, v, **mask)
    put(f"{name}.q", q)
    put(f"{name}.k", k)
    put(f"{name}.v", v)
    put(f"{name}.out", o)
    if with_probs:
        put(f"{name}.probs", p)


# Grouped-query attention (Hq 8, Hkv 2), no mask, Tk not a multiple of any tile.
case("gqa", torch.randn(8, 5, 16), torch.randn(2, 11, 16), torch.randn(2, 11, 16), with_probs=True)
# A chunk of a chunked prefill: 6 queries at positions 9..14 of 20 keys (keys 15.. are invisible).
case("chunk", torch.randn(2, 6, 8), torch.randn(2, 20, 8), torch.randn(2, 20, 8), with_probs=True, causal=True, query_offset=9)
# A decode step: one query against a 70-token cache (default offset 69 sees every key).
case("decode", torch.randn(4, 1, 32), torch.randn(4, 70, 32), torch.randn(4, 70, 32), causal=True)
# Causal prefill with logits near 1e3: a shared direction of norm ~sqrt(1000 * sqrt(D)) plus noise.
base = torch.randn(64)
base = base / base.norm() * math.sqrt(1000 * 8)
case("large", base + torch.randn(2, 9, 64), base + torch.randn(2, 9, 64), torch.randn(2, 9, 64), causal=True)
# Fully masked rows: query offset -2, so rows 0 and 1 see no key.
case("masked", torch.randn(1, 4, 4), torch.randn(1, 4, 4), torch.randn(1, 4, 4), with_probs=True, causal=True, query_offset=-2)

path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "attention.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {path}: {len(out)} tensors, {os.path.getsize(path)} bytes")

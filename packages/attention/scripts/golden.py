"""Golden outputs of PyTorch for @adsc/attention (run from the repo root:
/usr/bin/python3 packages/attention/scripts/golden.py, with OPENBLAS_CORETYPE=SkylakeX on a CPU
with AVX-512). Writes packages/attention/test/fixtures/attention.json (forward) and
attention-backward.json (logsumexp and gradients) as {name: {shape, data}}.

torch 1.13 has no scaled_dot_product_attention, so attention is written out here the textbook way:
S = scale * Q K^T, masked entries -inf, softmax over keys, times V. Inputs are float32 (stored
next to the outputs so the tests feed exactly the same numbers); the arithmetic runs in float64
and the results are rounded to float32. Grouped-query attention repeats each key/value head for
its Hq / Hkv query heads (repeat_interleave, as Llama does). A row that sees no key is written as
zeros: torch's softmax of an all -inf row is NaN, the project's contract is zeros, so such rows get
scores 0 before the softmax and probabilities 0 after it (no NaN reaches autograd either).

Gradients: autograd of the scalar loss sum(out * G) for a random G, in float64; G is the dOut the
tests feed to attentionBackward. GQA's repeat_interleave makes autograd sum dK and dV over the
query heads that share a key/value head."""
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
    """q [Hq, Tq, D], k and v [Hkv, Tk, D] -> (out [Hq, Tq, D], probs [Hq, Tq, Tk], lse [Hq, Tq]),
    computed in float64."""
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
    lse = torch.logsumexp(s.detach(), dim=-1)  # -inf for a row that sees no key
    dead = torch.isinf(lse).unsqueeze(-1)  # rows that see no key: zeros
    p = torch.softmax(s.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)
    return p @ v, p, lse


def case(name, q, k, v, with_probs=False, **mask):
    o, p, _ = attention(q, k, v, **mask)
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



def save(filename):
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", filename)
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {path}: {len(out)} tensors, {os.path.getsize(path)} bytes")
    out.clear()


save("attention.json")


def backward_case(name, q, k, v, **mask):
    """Inputs, dOut = G, the forward's out and lse, and dq, dk, dv of sum(out * G)."""
    g = torch.randn(q.shape)
    q64, k64, v64 = (t.double().requires_grad_() for t in (q, k, v))
    o, _, lse = attention(q64, k64, v64, **mask)
    (o * g.double()).sum().backward()
    for key, t in [("q", q), ("k", k), ("v", v), ("dOut", g), ("out", o), ("lse", lse),
                   ("dq", q64.grad), ("dk", k64.grad), ("dv", v64.grad)]:
        put(f"{name}.{key}", t)


# Grouped-query attention (Hq 4, Hkv 2), no mask: dK and dV sum over two query heads each.
backward_case("gqa", torch.randn(4, 5, 16), torch.randn(2, 11, 16), torch.randn(2, 11, 16))
# Causal prefill, Tq = Tk = 13, one key/value head for two query heads.
backward_case("prefill", torch.randn(2, 13, 8), torch.randn(1, 13, 8), torch.randn(1, 13, 8), causal=True)
# A chunk: 6 queries at positions 9..14 of 20 keys; keys 15.. get zero gradients.
backward_case("chunk", torch.randn(2, 6, 8), torch.randn(2, 20, 8), torch.randn(2, 20, 8), causal=True, query_offset=9)
# A decode step: one query against 30 keys (GQA 4/2).
backward_case("decode", torch.randn(4, 1, 8), torch.randn(2, 30, 8), torch.randn(2, 30, 8), causal=True)
# Fully masked rows: query offset -2, so rows 0 and 1 see no key (lse -inf, zero gradients).
backward_case("masked", torch.randn(1, 4, 4), torch.randn(1, 4, 4), torch.randn(1, 4, 4), causal=True, query_offset=-2)
# Logits near 1e3, as in the forward's "large" case.
base = torch.randn(64)
base = base / base.norm() * math.sqrt(1000 * 8)
backward_case("large", base + torch.randn(2, 9, 64), base + torch.randn(2, 9, 64), torch.randn(2, 9, 64), causal=True)
save("attention-backward.json")

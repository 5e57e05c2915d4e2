"""Parameter gradients of the LLaVA training loss on tiny-gqa, from the independent PyTorch
reference (reference.py), for test/lm-loss.test.ts. Run:
/usr/bin/python3 packages/model/scripts/grad_golden.py
Writes test/fixtures/golden/grads.json.

The loss is Hugging Face's causal-LM loss (mean cross-entropy of logits[t] against labels[t + 1],
-100 ignored, the vision span ignored) on one prompt with an image, computed in float64 from the
checkpoint's values, with every tensor of the checkpoint requiring a gradient (vision tower,
projector and LLM), once without a schedule and once under an ADSC schedule (the drops are an
index select, so dropped vision rows pass no gradient back). For every parameter the fixture keeps
three summaries of its gradient (sum, sum of |g|, and the dot product with cos(0.1 i) over the flat
index i), and for a few tensors every value."""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as ref  # noqa: E402

FIXTURES = os.path.normpath(os.path.join(HERE, "..", "test", "fixtures"))
IMAGE_TOKEN = 300
PROMPT = [1, 23, 190, 77, IMAGE_TOKEN, 51, 8, 260, 140, 3, 99, 211]
ANSWER = [36, 174, 12, 58, 2]
IDS = PROMPT + ANSWER
LABELS = [-100] * len(PROMPT) + ANSWER
SCHEDULES = ["none", "adsc:1=0.5,3=0.5"]
FULL = [
    "language_model.model.layers.0.self_attn.q_proj.weight",
    "language_model.model.layers.5.mlp.down_proj.weight",
    "multi_modal_projector.linear_1.weight",
    "vision_tower.vision_model.encoder.layers.0.self_attn.v_proj.bias",
    "vision_tower.vision_model.embeddings.patch_embedding.weight",
    "language_model.model.norm.weight",
]


def final_sequence(m, ids, pixels, schedule):
    """The decoder's training forward: every layer over the (possibly reduced) sequence."""
    sched = ref.parse_schedule(schedule, m.cfg.text.num_layers)
    seq = ref.embed_prompt(m, ids, pixels)
    for l in range(m.cfg.text.num_layers):
        if seq.span_len > 0 and sched.kind == "adsc":
            for layer, r in sched.adsc:
                if layer == l:
                    seq = ref.keep_span(seq, ref.adsc_keep_indices(seq.span_len, r), "original")
        h, _ = ref.decoder_layer(m, l, seq.h, seq.positions, ref.empty_cache(m))
        seq = ref.Sequence(h, seq.positions, seq.span_start, seq.span_len, seq.image_index)
    return seq


def loss_of(m, pixels, schedule):
    seq = final_sequence(m, IDS, pixels, schedule)
    p = m.cfg.vision.num_patches
    s = seq.span_start
    merged = LABELS[:s] + [-100] * p + LABELS[s + 1:]
    original = [r if r < s else (s + int(seq.image_index[r - s]) if r < s + seq.span_len else r - seq.span_len + p)
                for r in range(seq.h.shape[0])]
    row_of = {o: r for r, o in enumerate(original)}
    rows, targets = [], []
    for t in range(1, len(merged)):
        if merged[t] != -100:
            rows.append(row_of[t - 1])
            targets.append(merged[t])
    logits = ref.lm_logits(m, seq.h[torch.tensor(rows)])
    return F.cross_entropy(logits, torch.tensor(targets))


def summaries(g: torch.Tensor) -> list[float]:
    flat = g.detach().double().flatten()
    weights = torch.cos(0.1 * torch.arange(flat.numel(), dtype=torch.float64))
    return [float(flat.sum()), float(flat.abs().sum()), float((flat * weights).sum())]


def main() -> None:
    torch.set_num_threads(2)
    pixels = torch.from_numpy(np.fromfile(os.path.join(FIXTURES, "golden", "pixels-a.bin"), dtype="<f4").reshape(3, 112, 112)).double()
    out = {"input_ids": IDS, "labels": LABELS, "cases": {}}
    for schedule in SCHEDULES:
        m = ref.load_model(os.path.join(FIXTURES, "tiny", "tiny-gqa"), torch.float64)
        for w in m.W.values():
            w.requires_grad_(True)
        loss = loss_of(m, pixels, schedule)
        loss.backward()
        case = {"loss": float(loss), "summaries": {}, "full": {}}
        for name, w in sorted(m.W.items()):
            if w.grad is not None:
                case["summaries"][name] = summaries(w.grad)
        for name in FULL:
            g = m.W[name].grad
            case["full"][name] = {"shape": list(g.shape), "data": [float(f"{v:.9g}") for v in g.detach().flatten().tolist()]}
        out["cases"][schedule] = case
        print(f"{schedule}: loss {float(loss):.6f}, {len(case['summaries'])} tensors with a gradient")
    path = os.path.join(FIXTURES, "golden", "grads.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()

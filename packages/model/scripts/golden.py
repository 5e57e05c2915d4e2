"""Makes the tiny LLaVA checkpoints and the golden fixtures @adsc/model is tested against.

Run (from the repository root; torch 1.13 + numpy, no transformers needed):
    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 packages/model/scripts/golden.py

Writes
- packages/model/test/fixtures/tiny/{tiny-mha,tiny-gqa,tiny-original}/: config.json, *.safetensors and,
  for the sharded ones, model.safetensors.index.json. Random weights from fixed seeds.
- packages/model/test/fixtures/golden/: modules.json, runs.json, pixels-a.bin, README.md.

Every number in the fixtures comes from reference.py reading the checkpoints back from disk, so the
fixtures see exactly the F16 / BF16 / F32 values the TypeScript loader will see. The script is
deterministic: running it again rewrites identical files.
"""
from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "test", "fixtures"))
TINY = os.path.join(FIXTURES, "tiny")
GOLDEN = os.path.join(FIXTURES, "golden")

IMAGE_TOKEN = 300
PAD_TOKEN = 301
BOS, EOS = 1, 2
MAX_NEW_TOKENS = 6

# ------------------------------------------------------------------------------------------------
# Checkpoint shapes
# ------------------------------------------------------------------------------------------------

VISION = dict(hidden_size=48, num_hidden_layers=3, num_attention_heads=4, intermediate_size=96,
              image_size=112, patch_size=14, layer_norm_eps=1e-5, hidden_act="quick_gelu", num_channels=3)
TEXT_MHA = dict(hidden_size=64, num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=4,
                intermediate_size=128, vocab_size=320, rms_norm_eps=1e-5, rope_theta=10000.0)
TEXT_GQA = dict(hidden_size=96, num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=2,
                intermediate_size=160, vocab_size=320, rms_norm_eps=1e-5, rope_theta=10000.0)


def make_weights(text: dict, vision: dict, seed: int) -> dict[str, np.ndarray]:
    """Random llava-hf-named float32 weights, scaled so activations stay O(1): projections ~ N(0, c/sqrt(fan_in)),
    norms 1 + N(0, 0.1), biases N(0, 0.02..0.05). q/k are a bit larger so attention is not uniform,
    lm_head larger so logits are spread (top-1 margins well above float32 noise)."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std=1.0, mean=0.0):
        return (torch.randn(*shape, generator=g) * std + mean).numpy().astype(np.float32)

    W: dict[str, np.ndarray] = {}
    D, Iv, C, ps = vision["hidden_size"], vision["intermediate_size"], vision["num_channels"], vision["patch_size"]
    P = (vision["image_size"] // ps) ** 2
    v = "vision_tower.vision_model."
    W[v + "embeddings.class_embedding"] = randn(D, std=0.5)
    W[v + "embeddings.patch_embedding.weight"] = randn(D, C, ps, ps, std=1 / math.sqrt(C * ps * ps))
    W[v + "embeddings.position_embedding.weight"] = randn(P + 1, D, std=0.3)
    W[v + "pre_layrnorm.weight"] = randn(D, std=0.1, mean=1.0)
    W[v + "pre_layrnorm.bias"] = randn(D, std=0.05)
    for i in range(vision["num_hidden_layers"]):
        p = f"{v}encoder.layers.{i}."
        for name, std in (("q_proj", 1.2), ("k_proj", 1.2), ("v_proj", 1.0), ("out_proj", 0.5)):
            W[p + f"self_attn.{name}.weight"] = randn(D, D, std=std / math.sqrt(D))
            W[p + f"self_attn.{name}.bias"] = randn(D, std=0.02)
        W[p + "layer_norm1.weight"] = randn(D, std=0.1, mean=1.0)
        W[p + "layer_norm1.bias"] = randn(D, std=0.05)
        W[p + "mlp.fc1.weight"] = randn(Iv, D, std=1 / math.sqrt(D))
        W[p + "mlp.fc1.bias"] = randn(Iv, std=0.05)
        W[p + "mlp.fc2.weight"] = randn(D, Iv, std=0.5 / math.sqrt(Iv))
        W[p + "mlp.fc2.bias"] = randn(D, std=0.02)
        W[p + "layer_norm2.weight"] = randn(D, std=0.1, mean=1.0)
        W[p + "layer_norm2.bias"] = randn(D, std=0.05)
    W[v + "post_layernorm.weight"] = randn(D, std=0.1, mean=1.0)  # present in real checkpoints, never used
    W[v + "post_layernorm.bias"] = randn(D, std=0.05)

    d, I, V = text["hidden_size"], text["intermediate_size"], text["vocab_size"]
    H, KV = text["num_attention_heads"], text["num_key_value_heads"]
    hd = d // H
    W["multi_modal_projector.linear_1.weight"] = randn(d, D, std=1 / math.sqrt(D))
    W["multi_modal_projector.linear_1.bias"] = randn(d, std=0.05)
    W["multi_modal_projector.linear_2.weight"] = randn(d, d, std=0.8 / math.sqrt(d))
    W["multi_modal_projector.linear_2.bias"] = randn(d, std=0.05)

    m = "language_model.model."
    W[m + "embed_tokens.weight"] = randn(V, d, std=0.5)
    for i in range(text["num_hidden_layers"]):
        p = f"{m}layers.{i}."
        W[p + "self_attn.q_proj.weight"] = randn(H * hd, d, std=1.2 / math.sqrt(d))
        W[p + "self_attn.k_proj.weight"] = randn(KV * hd, d, std=1.2 / math.sqrt(d))
        W[p + "self_attn.v_proj.weight"] = randn(KV * hd, d, std=1.0 / math.sqrt(d))
        W[p + "self_attn.o_proj.weight"] = randn(d, H * hd, std=0.5 / math.sqrt(d))
        W[p + "mlp.gate_proj.weight"] = randn(I, d, std=1 / math.sqrt(d))
        W[p + "mlp.up_proj.weight"] = randn(I, d, std=1 / math.sqrt(d))
        W[p + "mlp.down_proj.weight"] = randn(d, I, std=0.5 / math.sqrt(I))
        W[p + "input_layernorm.weight"] = randn(d, std=0.1, mean=1.0)
        W[p + "post_attention_layernorm.weight"] = randn(d, std=0.1, mean=1.0)
    W[m + "norm.weight"] = randn(d, std=0.1, mean=1.0)
    W["language_model.lm_head.weight"] = randn(V, d, std=2.5 / math.sqrt(d))
    return W


def is_norm(name: str) -> bool:
    return "norm" in name  # layer_norm1/2, pre_layrnorm, post_layernorm, input_/post_attention_layernorm, norm


def dtype_mha(name: str) -> str:
    """tiny-mha (and tiny-original): F16 projections, F32 norms and CLS, BF16 lm_head and projector weights."""
    if is_norm(name) or name.endswith("class_embedding") or name.startswith("multi_modal_projector") and name.endswith("bias"):
        return "F32"
    if name == "language_model.lm_head.weight" or name.startswith("multi_modal_projector"):
        return "BF16"
    return "F16"


def dtype_gqa(name: str) -> str:
    """tiny-gqa: even decoder layers BF16, odd ones F16; norms and vision biases F32; the rest mixed."""
    if is_norm(name) or name.startswith("vision_tower") and name.endswith("bias"):
        return "F32"
    if name.startswith("language_model.model.layers."):
        return "BF16" if int(name.split(".")[3]) % 2 == 0 else "F16"
    return {
        "language_model.model.embed_tokens.weight": "BF16",
        "language_model.lm_head.weight": "F16",
        "multi_modal_projector.linear_1.weight": "F16",
        "multi_modal_projector.linear_2.weight": "F16",
        "multi_modal_projector.linear_1.bias": "BF16",
        "multi_modal_projector.linear_2.bias": "BF16",
    }.get(name, "BF16" if name.startswith("vision_tower") else "F16")


# ------------------------------------------------------------------------------------------------
# Writing checkpoints
# ------------------------------------------------------------------------------------------------


def write_sharded(directory: str, W: dict[str, np.ndarray], dtype_of, shards: int) -> None:
    """Splits the tensors, in module order (vision tower, projector, language model: the order
    LlavaForConditionalGeneration registers them), into `shards` files of about equal bytes, and
    writes model.safetensors.index.json."""
    os.makedirs(directory, exist_ok=True)
    names = list(W)
    size = {n: W[n].size * ref.DTYPE_BYTES[dtype_of(n)] for n in names}
    total = sum(size.values())
    groups: list[list[str]] = [[] for _ in range(shards)]
    acc = 0
    for n in names:
        groups[min(shards - 1, acc * shards // total)].append(n)
        acc += size[n]
    weight_map = {}
    for s, group in enumerate(groups):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        ref.write_safetensors(os.path.join(directory, file), {n: (W[n], dtype_of(n)) for n in group}, {"format": "pt"})
        weight_map.update({n: file for n in group})
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


def hf_config(text: dict, omit_kv_heads: bool) -> dict:
    tc = {"model_type": "llama", **text, "max_position_embeddings": 4096, "hidden_act": "silu",
          "bos_token_id": BOS, "eos_token_id": EOS, "pad_token_id": PAD_TOKEN, "tie_word_embeddings": False,
          "torch_dtype": "float16"}
    if omit_kv_heads:  # as in the real llava-1.5-7b-hf text_config: absent means = num_attention_heads
        del tc["num_key_value_heads"]
    return {
        "architectures": ["LlavaForConditionalGeneration"],
        "model_type": "llava",
        "ignore_index": -100,
        "image_token_index": IMAGE_TOKEN,
        "pad_token_id": PAD_TOKEN,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default",
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
        "vocab_size": text["vocab_size"],
        "text_config": tc,
        "vision_config": {"model_type": "clip_vision_model", **VISION},
    }


def original_config(text: dict) -> dict:
    return {
        "architectures": ["LlavaLlamaForCausalLM"],
        "model_type": "llava_llama",
        **text,
        "max_position_embeddings": 4096,
        "hidden_act": "silu",
        "bos_token_id": BOS,
        "eos_token_id": EOS,
        "pad_token_id": 0,
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
        "mm_hidden_size": VISION["hidden_size"],
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "patch",
        "mm_vision_tower": "openai/clip-vit-large-patch14-336",
        "mm_use_im_start_end": False,
        "mm_use_im_patch_token": False,
        "mm_patch_merge_type": "flat",
        "image_aspect_ratio": "pad",
        "image_token_index": IMAGE_TOKEN,  # this project's extension (original LLaVA uses -200 in code)
        "vision_config": {k: VISION[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                                 "intermediate_size", "image_size", "patch_size",
                                                 "layer_norm_eps", "hidden_act")},  # this project's extension
    }


# llava-hf name prefix -> original LLaVA prefix (the inverse of reference.ORIGINAL_TO_HF)
HF_TO_ORIGINAL = [
    ("multi_modal_projector.linear_1.", "model.mm_projector.0."),
    ("multi_modal_projector.linear_2.", "model.mm_projector.2."),
    ("vision_tower.", "model.vision_tower.vision_tower."),
    ("language_model.lm_head.", "lm_head."),
    ("language_model.model.", "model."),
]


def original_name(name: str) -> str:
    for old, new in HF_TO_ORIGINAL:
        if name.startswith(old):
            return new + name[len(old):]
    raise ValueError(name)


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def make_checkpoints() -> None:
    mha = make_weights(TEXT_MHA, VISION, seed=1)
    d = os.path.join(TINY, "tiny-mha")
    write_sharded(d, mha, dtype_mha, shards=2)
    write_json(os.path.join(d, "config.json"), hf_config(TEXT_MHA, omit_kv_heads=True))

    gqa = make_weights(TEXT_GQA, VISION, seed=2)
    d = os.path.join(TINY, "tiny-gqa")
    write_sharded(d, gqa, dtype_gqa, shards=3)
    write_json(os.path.join(d, "config.json"), hf_config(TEXT_GQA, omit_kv_heads=False))

    # tiny-original: tiny-mha's values and dtypes under the original LLaVA names, one file.
    d = os.path.join(TINY, "tiny-original")
    os.makedirs(d, exist_ok=True)
    ref.write_safetensors(os.path.join(d, "model.safetensors"),
                          {original_name(n): (a, dtype_mha(n)) for n, a in mha.items()}, {"format": "pt"})
    write_json(os.path.join(d, "config.json"), original_config(TEXT_MHA))


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------


def make_pixels(seed: int) -> np.ndarray:
    """A synthetic 112x112 RGB picture (gradients, a disc, a bar, noise) in [0, 1], normalised with the
    CLIP mean/std as CLIPImageProcessor would -> float32 [3, 112, 112]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:112, 0:112].astype(np.float32) / 111
    r = 0.7 * x + 0.2 * y
    g = 0.5 + 0.4 * np.sin(6 * y + 2 * x)
    b = 1 - 0.8 * x * y
    disc = (x - 0.62) ** 2 + (y - 0.4) ** 2 < 0.05
    r[disc], g[disc], b[disc] = 0.95, 0.2, 0.1
    bar = (y > 0.75) & (y < 0.85)
    r[bar], g[bar], b[bar] = 0.1, 0.1, 0.15
    img = np.clip(np.stack([r, g, b]) + rng.normal(0, 0.05, (3, 112, 112)), 0, 1).astype(np.float32)
    mean = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)[:, None, None]
    std = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)[:, None, None]
    return ((img - mean) / std).astype(np.float32)


def num(v: float):
    """float32 value -> shortest JSON token that reads back to the same float32; non-finite as strings."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return float(str(np.float32(v)))


def golden_entry(t) -> dict:
    a = np.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t, dtype=np.float32)
    return {"shape": list(a.shape), "data": [num(v) for v in a.reshape(-1).tolist()]}


def make_modules(gqa: ref.Model, pixels: torch.Tensor) -> dict:
    """Module-level fixtures from tiny-gqa's weights."""
    g = torch.Generator().manual_seed(7)
    out = {}
    t = gqa.cfg.text
    W = gqa.W

    x = torch.randn(5, 96, generator=g)
    out["rmsnorm.x"] = x
    out["rmsnorm.y"] = ref.rms_norm(x, W["language_model.model.layers.0.input_layernorm.weight"], t.rms_norm_eps)

    x = torch.randn(5, 6 * 16, generator=g)
    pos = torch.tensor([0, 1, 2, 40, 41])
    out["rope.x"] = x
    out["rope.positions"] = pos.float()
    out["rope.y"] = ref.apply_rope(x.view(5, 6, 16), pos, t.rope_theta).reshape(5, 96)

    x = torch.randn(65, 48, generator=g)
    out["clip_layer.x"] = x
    out["clip_layer.y"] = ref.clip_layer(gqa, 0, x)

    feats = ref.image_features(gqa, pixels)
    out["vision.pixels"] = pixels
    out["vision.features"] = feats
    out["projector.y"] = ref.project(gqa, feats)

    x = torch.randn(7, 96, generator=g)
    decode_x = torch.randn(1, 96, generator=g)
    cache = ref.empty_cache(gqa)
    y, _ = ref.decoder_layer(gqa, 0, x, torch.arange(7), cache)
    decode_y, _ = ref.decoder_layer(gqa, 0, decode_x, torch.tensor([7]), cache)
    out["decoder_layer.x"] = x
    out["decoder_layer.y"] = y
    out["decoder_layer.decode_x"] = decode_x
    out["decoder_layer.decode_y"] = decode_y
    return {k: golden_entry(v) for k, v in out.items()}


PROMPT_A = [BOS, 45, 112, 7, 250, 33, IMAGE_TOKEN, 13, 88, 199, 64, 5, 271, 140, 22, 97]  # 14 text ids
PROMPT_B = [BOS, 23, 190, 77, IMAGE_TOKEN, 51, 8, 260, 140, 3, 99, 211, 36, 174, 12, 58, 131, 240]  # 16 text ids
PROMPT_TEXT = [BOS, 45, 112, 7, 250, 33, 13, 88, 199, 64, 5, 271, 140, 22, 97, 180, 29]  # no image

REDUCTION_CASES = [
    ("adsc:2=0.5,3=0.5", "original"),
    ("adsc:1=0.3333333333", "original"),
    ("adsc:1=1/3", "original"),
    ("adsc:2=0.5", "renumber"),
    ("fastv:K=2,R=0.5", "original"),
    ("pdrop:layers=1,2,3,ratio=0.5", "renumber"),
]


def case_list():
    cases = [
        ("tiny-mha none", "tiny-mha", PROMPT_A, "pixels-a.bin", "none", "original"),
        ("tiny-gqa none", "tiny-gqa", PROMPT_B, "pixels-a.bin", "none", "original"),
        ("tiny-original none", "tiny-original", PROMPT_A, "pixels-a.bin", "none", "original"),
        ("tiny-mha text-only", "tiny-mha", PROMPT_TEXT, None, "none", "original"),
    ]
    for ckpt, prompt in (("tiny-mha", PROMPT_A), ("tiny-gqa", PROMPT_B)):
        for schedule, positions in REDUCTION_CASES:
            cases.append((f"{ckpt} {schedule} {positions}", ckpt, prompt, "pixels-a.bin", schedule, positions))
    cases.append(("tiny-mha fastv:K=2,R=0.75 original", "tiny-mha", PROMPT_A, "pixels-a.bin", "fastv:K=2,R=0.75", "original"))
    return cases


def assert_unit_facts() -> None:
    """Facts the TypeScript tests also check by hand."""
    assert ref.adsc_keep_indices(576, 0.5) == list(range(0, 576, 2))  # 288 even indices
    k = ref.adsc_keep_indices(64, ref.Fraction(1, 3))
    assert len(k) == 21 and k == [j * 64 // 21 for j in range(21)]
    assert ref.adsc_keep_indices(64, 0.3333333333) == k  # floor(21.33 + 1e-6) = 21 too
    assert ref.adsc_keep_indices(64, 0.5) == list(range(0, 64, 2))
    assert ref.top_k_in_order([0.1, 0.5, 0.5, 0.2], 2) == [1, 2]  # tie: lower index wins
    assert ref.top_k_in_order([0.3, 0.5, 0.3, 0.2], 2) == [0, 1]
    assert ref.parse_schedule("pdrop:layers=1,2,3,ratio=0.5", 6).pdrop_layers == [1, 2, 3]


def assert_cache_consistency(m: ref.Model, pixels: torch.Tensor) -> None:
    """Self-check of the KV-cache path: a decode step's logits equal those of a prefill that already
    holds the decoded token (schedule "none")."""
    run = ref.generate(m, PROMPT_B, pixels, "none", None, 2)
    longer, _ = ref.prefill(m, PROMPT_B + [run.output_ids[0]], pixels, "none")
    assert float((run.step_logits[1] - longer.prefill_logits).abs().max()) < 1e-4


def main() -> None:
    torch.set_num_threads(2)
    assert_unit_facts()
    make_checkpoints()
    os.makedirs(GOLDEN, exist_ok=True)

    pixels_np = make_pixels(seed=11)
    pixels_np.astype("<f4").tofile(os.path.join(GOLDEN, "pixels-a.bin"))
    pixel_files = {"pixels-a.bin": torch.from_numpy(np.fromfile(os.path.join(GOLDEN, "pixels-a.bin"), dtype="<f4").reshape(3, 112, 112))}

    models = {name: ref.load_model(os.path.join(TINY, name)) for name in ("tiny-mha", "tiny-gqa", "tiny-original")}
    models64 = {name: ref.load_model(os.path.join(TINY, name), torch.float64) for name in models}

    assert_cache_consistency(models["tiny-gqa"], pixel_files["pixels-a.bin"])
    modules = make_modules(models["tiny-gqa"], pixel_files["pixels-a.bin"])
    with open(os.path.join(GOLDEN, "modules.json"), "w") as f:
        json.dump(modules, f, separators=(",", ":"))

    runs, report = [], []
    for name, ckpt, ids, pix, schedule, positions in case_list():
        pixels = pixel_files[pix] if pix else None
        run = ref.generate(models[ckpt], ids, pixels, schedule, positions, MAX_NEW_TOKENS)
        run64 = ref.generate(models64[ckpt], ids, pixels.double() if pixels is not None else None, schedule,
                             positions, MAX_NEW_TOKENS)
        # The fixtures must not hinge on rounding: float64 has to choose the same tokens and tokens to keep.
        assert run64.output_ids == run.output_ids, name
        assert run64.kept_image_indices == run.kept_image_indices, name
        assert len(run.output_ids) == MAX_NEW_TOKENS and EOS not in run.output_ids, name
        assert not {IMAGE_TOKEN, PAD_TOKEN} & set(run.output_ids), name
        margin = min(ref.top1_margin(l) for l in run.step_logits)
        f64_diff = float((run.prefill_logits.double() - run64.prefill_logits).abs().max())
        gap = min(run.selection_gaps, default=float("inf"))
        runs.append({
            "name": name,
            "checkpoint": ckpt,
            "input_ids": ids,
            "pixels": pix,
            "schedule": schedule,
            "positions": positions,
            "max_new_tokens": MAX_NEW_TOKENS,
            "prefill_logits": [num(v) for v in run.prefill_logits.tolist()],
            "output_ids": run.output_ids,
            "tokens_per_layer": run.tokens_per_layer,
            "vision_tokens_per_layer": run.vision_tokens_per_layer,
            "kv_cache_elements": run.kv_cache_elements,
            # extras (not needed by the tests; for debugging and tolerances)
            "kept_image_indices": run.kept_image_indices,
            "min_top1_margin": num(margin),
        })
        report.append((name, margin, gap, f64_diff, run))

    # tiny-original holds tiny-mha's values under the original names: same results, bit for bit.
    a, b = runs[0], runs[2]
    assert a["prefill_logits"] == b["prefill_logits"] and a["output_ids"] == b["output_ids"]

    with open(os.path.join(GOLDEN, "runs.json"), "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(r, separators=(",", ":")) for r in runs) + "\n]\n")

    lines = []
    for name, margin, gap, f64_diff, run in report:
        gap_s = "-" if math.isinf(gap) else f"{gap:.3g}"
        lines.append(f"| {name} | {run.tokens_per_layer} | {run.vision_tokens_per_layer} | {run.kv_cache_elements} "
                     f"| {run.output_ids} | {margin:.4f} | {gap_s} | {f64_diff:.2g} |")
        print(lines[-1])
    write_readme(lines, min(r[1] for r in report), max(r[3] for r in report))


def write_readme(table: list[str], min_margin: float, max_f64: float) -> None:
    text = f"""# Golden fixtures for @adsc/model

Made by `OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 packages/model/scripts/golden.py` (torch 1.13, numpy)
from the PyTorch reference `packages/model/scripts/reference.py`, which was written from SPEC.md and
Hugging Face's modeling_clip / modeling_llama / modeling_llava semantics, independently of `src/`.
The same run writes the tiny checkpoints in `../tiny/` (random weights, fixed seeds); the reference
reads them back from disk, so every value here is computed from the stored F16/BF16/F32 weights
upcast to float32. The script is deterministic.

## Files

- `pixels-a.bin`: raw little-endian float32, shape [3, 112, 112] (CHW), already normalised with the
  CLIP mean/std (a synthetic picture). 150,528 bytes.
- `modules.json`: `{{name: {{shape, data}}}}` (data flat, row-major; non-finite values would be the strings
  "NaN"/"Infinity"/"-Infinity"), read with `readGolden`. All from **tiny-gqa**'s weights:
  - `rmsnorm.x` [5, 96] -> `rmsnorm.y`: layer 0 `input_layernorm`.
  - `rope.x` [5, 96] (6 heads x head_dim 16, head-major within a row), `rope.positions` [5] = 0,1,2,40,41
    (as floats), `rope.y`: RoPE (theta 10000, half-split rotate_half) applied per head.
  - `clip_layer.x` [65, 48] -> `clip_layer.y`: vision encoder layer 0.
  - `vision.pixels` [3, 112, 112] (= pixels-a.bin) -> `vision.features` [64, 48] (hidden_states[-2],
    CLS dropped) -> `projector.y` [64, 96].
  - `decoder_layer.x` [7, 96] -> `decoder_layer.y`: text layer 0, positions 0..6, empty cache;
    `decoder_layer.decode_x` [1, 96] -> `decoder_layer.decode_y`: the same layer, one more token at
    position 7 attending to the 7 cached K/V rows and itself.
- `runs.json`: a JSON list of cases, each
  `{{"name", "checkpoint" (dir under ../tiny), "input_ids", "pixels" ("pixels-a.bin" | null), "schedule",
  "positions" ("original" | "renumber"), "max_new_tokens" (6), "prefill_logits" [vocab 320],
  "output_ids" [6], "tokens_per_layer" [6], "vision_tokens_per_layer" [6], "kv_cache_elements",
  "kept_image_indices" [per layer: indices among the 64 original image features that layer processed],
  "min_top1_margin"}}`. The last two are extras for debugging and tolerances.

## Conventions of the reference

- Merge: the single image token (id 300) is replaced by the 64 projected features; position ids
  start as 0..T-1 over the merged sequence.
- Prefill: for each layer l, reductions that fire before l are applied, then layer l runs on the
  compacted sequence with a plain causal mask; each layer caches K (after RoPE) and V of exactly the
  rows it processed. FastV's attention row is layer K-1's head-averaged probabilities of the last
  prompt token; PyramidDrop's ranking uses layer l's input_layernorm, q_proj, k_proj and RoPE at the
  current positions. Ties in a ranking go to the lower index; kept tokens stay in order.
  FastV keeps floor(n(1-R) + 0.5) (no minimum); PyramidDrop keeps max(1, floor(n*ratio)); ADSC as SPEC.md.
- positions "renumber": after every drop the position ids become 0..T'-1.
- Greedy decode: output_ids[0] = argmax(prefill_logits); each later token is the argmax of a decode
  step fed the previous one (6 tokens, 5 decode steps). A new token's position at layer l is
  (last position layer l cached) + 1, so with "renumber" it differs between layers. No pruning in
  decode. Generation would stop after eos (id 2) but no case emits it (asserted), nor 300/301, so
  stopping or not at eos gives the same ids.
- kv_cache_elements = sum over layers of 2 * rows cached * num_kv_heads * head_dim, right after prefill.
- tiny-original holds exactly tiny-mha's values and dtypes under the original LLaVA names, so its
  "none" case equals tiny-mha's bit for bit (asserted). tiny-mha's text_config omits
  num_key_value_heads on purpose (absent means = num_attention_heads, as in the real 7B config).

## Margins and precision

Smallest top-1 margin (top logit minus runner-up) over every greedy step of every case:
**{min_margin:.4f}**. Largest |prefill logit| difference between this float32 reference and the same
reference in float64: {max_f64:.2g}. Every case chooses the same output ids and the same kept tokens in
float64 (asserted). "sel. gap" is the smallest gap, at the cut, between the last kept and the first
dropped FastV/PyramidDrop score (how robust the selection is to rounding; the scores are head-averaged
probabilities of about 1/T = 0.013, and float32 moves them by < 1e-7 against float64). FastV K=2 and PyramidDrop's first
drop (before layer 1) rank with the same computation (layer 1's norm, q/k, RoPE, last-token softmax
over all keys), so their first selections and gaps coincide, as they should.

| case | tokens_per_layer | vision_tokens_per_layer | kv_cache_elements | output_ids | min top-1 margin | sel. gap | f32 vs f64 |
| --- | --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(table) + "\n"
    with open(os.path.join(GOLDEN, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()

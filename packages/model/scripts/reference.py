"""Independent PyTorch reference of LLaVA-1.5 and of the project's vision-token reduction rules.

Why this file exists: the TypeScript model package (@adsc/model) is tested against fixtures computed
here (see golden.py). It is written from the project's spec (/work/shared/SPEC.md, sections 1-3) and
from what Hugging Face's modeling_clip.py / modeling_llama.py / modeling_llava.py compute, not from the
TypeScript code, so that the two implementations check each other. It also documents what "correct"
means: where a step mirrors a Hugging Face behaviour, the comment says which.

transformers and safetensors are not installed on this machine, so the file carries a minimal
safetensors reader/writer and a config reader for both checkpoint layouts (llava-hf and the original
LLaVA one).

Conventions (all of them are what Hugging Face does in float32):
- Weights are read from their stored dtype (F16 / BF16 / F32) and upcast exactly to float32; every
  computation then runs in float32 (`dtype` can be set to float64 to measure float32's error floor).
- One prompt, batch size 1, so every tensor below drops the batch dimension: hidden states are [T, d].
- At most one image per prompt; its single <image> token is replaced by the P image features.

Run golden.py to produce the fixtures; this module has no side effects on import.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F

# ------------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length N, N bytes of JSON, then the raw little-endian buffer.
# ------------------------------------------------------------------------------------------------

# dtype string -> bytes per element (only the dtypes these checkpoints use)
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}


def f32_to_bf16_bits(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, round to nearest even (what torch's .to(bfloat16) does)."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 bits -> float32: the 16 bits become the high half of a 32-bit word (exact)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def encode_tensor(a: np.ndarray, dtype: str) -> bytes:
    if dtype == "F64":
        return np.ascontiguousarray(a, dtype="<f8").tobytes()
    if dtype == "F32":
        return np.ascontiguousarray(a, dtype="<f4").tobytes()
    if dtype == "F16":
        return np.ascontiguousarray(a, dtype="<f2").tobytes()
    if dtype == "BF16":
        return f32_to_bf16_bits(a).astype("<u2").tobytes()
    raise ValueError(f"encode_tensor: unsupported dtype {dtype}")


def decode_tensor(raw: bytes, dtype: str, shape: list[int]) -> np.ndarray:
    """Raw little-endian bytes -> float32 array (exact upcast from F16/BF16)."""
    if dtype == "F64":
        a = np.frombuffer(raw, dtype="<f8").astype(np.float32)
    elif dtype == "F32":
        a = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif dtype == "F16":
        a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    elif dtype == "BF16":
        a = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
    else:
        raise ValueError(f"decode_tensor: unsupported dtype {dtype}")
    return a.reshape(shape)


def write_safetensors(path: str, tensors: dict[str, tuple[np.ndarray, str]], metadata: dict | None = None) -> int:
    """Writes {name: (float32 array, stored dtype)}; returns the number of tensor bytes written.

    Layout as the reference writer makes it: entries sorted by dtype size descending, then by name;
    header JSON padded with spaces so that N is a multiple of 8.
    """
    order = sorted(tensors, key=lambda n: (-DTYPE_BYTES[tensors[n][1]], n))
    header: dict = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name in order:
        arr, dtype = tensors[name]
        blob = encode_tensor(arr, dtype)
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    return offset


def read_safetensors(path: str) -> dict[str, torch.Tensor]:
    """Reads every tensor of one file, upcast to float32 (shape as stored)."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    buffer = data[8 + n :]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        out[name] = torch.from_numpy(decode_tensor(buffer[begin:end], entry["dtype"], entry["shape"]).copy())
    return out


# ------------------------------------------------------------------------------------------------
# Config and weights, for both layouts. Weights are renamed to the llava-hf names.
# ------------------------------------------------------------------------------------------------


@dataclass
class TextConfig:  # LlamaConfig fields the forward pass reads
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    vocab_size: int
    rms_norm_eps: float
    rope_theta: float

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


@dataclass
class VisionConfig:  # CLIPVisionConfig fields the forward pass reads
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    image_size: int
    patch_size: int
    layer_norm_eps: float
    hidden_act: str
    num_channels: int = 3

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


@dataclass
class LlavaConfig:
    text: TextConfig
    vision: VisionConfig
    image_token_index: int
    vision_feature_layer: int
    vision_feature_select_strategy: str  # "default" drops CLS, "full" keeps it
    bos_token_id: int
    eos_token_id: int
    layout: str  # "llava-hf" | "original"


def text_config_from(c: dict) -> TextConfig:
    # Defaults are LlamaConfig's (hidden_act silu, rope_theta 10000, eps 1e-6 in LlamaConfig itself but
    # every LLaVA config sets 1e-5); num_key_value_heads absent means = num_attention_heads.
    heads = c.get("num_attention_heads", 32)
    return TextConfig(
        hidden_size=c.get("hidden_size", 4096),
        num_layers=c.get("num_hidden_layers", 32),
        num_heads=heads,
        num_kv_heads=c.get("num_key_value_heads") or heads,
        intermediate_size=c.get("intermediate_size", 11008),
        vocab_size=c.get("vocab_size", 32000),
        rms_norm_eps=c.get("rms_norm_eps", 1e-5),
        rope_theta=c.get("rope_theta", 10000.0),
    )


def vision_config_from(c: dict) -> VisionConfig:
    # Defaults for missing fields: the CLIP ViT-L/14-336 values of SPEC.md section 3.
    return VisionConfig(
        hidden_size=c.get("hidden_size", 1024),
        num_layers=c.get("num_hidden_layers", 24),
        num_heads=c.get("num_attention_heads", 16),
        intermediate_size=c.get("intermediate_size", 4096),
        image_size=c.get("image_size", 336),
        patch_size=c.get("patch_size", 14),
        layer_norm_eps=c.get("layer_norm_eps", 1e-5),
        hidden_act=c.get("hidden_act", "quick_gelu"),
        num_channels=c.get("num_channels", 3),
    )


def load_config(directory: str) -> LlavaConfig:
    with open(os.path.join(directory, "config.json")) as f:
        c = json.load(f)
    if "text_config" in c:  # llava-hf: LlavaConfig with nested text_config / vision_config
        t = c["text_config"]
        return LlavaConfig(
            text=text_config_from(t),
            vision=vision_config_from(c.get("vision_config", {})),
            image_token_index=c.get("image_token_index", 32000),
            vision_feature_layer=c.get("vision_feature_layer", -2),
            vision_feature_select_strategy=c.get("vision_feature_select_strategy", "default"),
            bos_token_id=t.get("bos_token_id", 1),
            eos_token_id=t.get("eos_token_id", 2),
            layout="llava-hf",
        )
    if "mm_projector_type" in c:  # original LLaVA: Llama fields at top level plus mm_* fields
        if c["mm_projector_type"] != "mlp2x_gelu":
            raise ValueError(f"{directory}/config.json: mm_projector_type {c['mm_projector_type']!r} is not mlp2x_gelu")
        select = c.get("mm_vision_select_feature", "patch")
        return LlavaConfig(
            text=text_config_from(c),
            vision=vision_config_from(c.get("vision_config", {})),  # "vision_config" is this project's extension
            image_token_index=c.get("image_token_index", 32000),  # original LLaVA uses -200 in code; our extension
            vision_feature_layer=c.get("mm_vision_select_layer", -2),
            vision_feature_select_strategy={"patch": "default", "cls_patch": "full"}[select],
            bos_token_id=c.get("bos_token_id", 1),
            eos_token_id=c.get("eos_token_id", 2),
            layout="original",
        )
    raise ValueError(f"{directory}/config.json: neither a llava-hf nor an original LLaVA config")


# Original LLaVA name prefix -> llava-hf prefix; the first matching rule wins (order matters).
ORIGINAL_TO_HF = [
    ("model.mm_projector.0.", "multi_modal_projector.linear_1."),
    ("model.mm_projector.2.", "multi_modal_projector.linear_2."),
    ("model.vision_tower.vision_tower.", "vision_tower."),
    ("lm_head.", "language_model.lm_head."),
    ("model.", "language_model.model."),
]


def hf_name(name: str) -> str:
    for old, new in ORIGINAL_TO_HF:
        if name.startswith(old):
            return new + name[len(old) :]
    return name


def load_weights(directory: str, layout: str) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint directory, resolved through model.safetensors.index.json's
    weight_map when it exists, under llava-hf names, as float32."""
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        files = sorted(set(weight_map.values()))
    else:
        weight_map, files = None, ["model.safetensors"]
    weights = {}
    for file in files:
        for name, t in read_safetensors(os.path.join(directory, file)).items():
            if weight_map is not None and weight_map.get(name) != file:
                continue  # the index is the authority on which file holds a name
            weights[hf_name(name) if layout == "original" else name] = t
    return weights


@dataclass
class Model:
    cfg: LlavaConfig
    W: dict[str, torch.Tensor]  # llava-hf names -> tensors in the compute dtype
    dtype: torch.dtype = torch.float32


def load_model(directory: str, dtype: torch.dtype = torch.float32) -> Model:
    cfg = load_config(directory)
    W = {k: v.to(dtype) for k, v in load_weights(directory, cfg.layout).items()}
    return Model(cfg, W, dtype)


def linear(W: dict, prefix: str, x: torch.Tensor) -> torch.Tensor:
    """nn.Linear: x @ weight^T (+ bias if the checkpoint has one). weight is [out, in]."""
    y = x @ W[prefix + ".weight"].T
    b = W.get(prefix + ".bias")
    return y if b is None else y + b


# ------------------------------------------------------------------------------------------------
# CLIP vision tower (modeling_clip.CLIPVisionTransformer), projector, merge.
# ------------------------------------------------------------------------------------------------


def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(1.702 * x)  # ACT2FN["quick_gelu"]


def gelu_exact(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x)  # erf form, ACT2FN["gelu"]


def vision_act(name: str):
    return {"quick_gelu": quick_gelu, "gelu": gelu_exact}[name]


def clip_layer(m: Model, i: int, x: torch.Tensor) -> torch.Tensor:
    """One pre-LN CLIPEncoderLayer. x: [N, D] -> [N, D]. Full (unmasked) attention."""
    v = m.cfg.vision
    W, p = m.W, f"vision_tower.vision_model.encoder.layers.{i}."
    N, H, hd = x.shape[0], v.num_heads, v.head_dim

    h = F.layer_norm(x, (v.hidden_size,), W[p + "layer_norm1.weight"], W[p + "layer_norm1.bias"], v.layer_norm_eps)
    q = linear(W, p + "self_attn.q_proj", h).view(N, H, hd).transpose(0, 1)  # [H, N, hd]
    k = linear(W, p + "self_attn.k_proj", h).view(N, H, hd).transpose(0, 1)  # [H, N, hd]
    val = linear(W, p + "self_attn.v_proj", h).view(N, H, hd).transpose(0, 1)  # [H, N, hd]
    # CLIPAttention scales by head_dim**-0.5; no attention mask for the vision tower.
    probs = torch.softmax((q @ k.transpose(1, 2)) * hd**-0.5, dim=-1)  # [H, N, N]
    attn = (probs @ val).transpose(0, 1).reshape(N, v.hidden_size)  # [N, D]
    x = x + linear(W, p + "self_attn.out_proj", attn)

    h = F.layer_norm(x, (v.hidden_size,), W[p + "layer_norm2.weight"], W[p + "layer_norm2.bias"], v.layer_norm_eps)
    h = vision_act(v.hidden_act)(linear(W, p + "mlp.fc1", h))  # [N, I]
    return x + linear(W, p + "mlp.fc2", h)  # [N, D]


def vision_hidden_states(m: Model, pixels: torch.Tensor) -> list[torch.Tensor]:
    """pixels [C, S, S] -> hidden_states as CLIPVisionModel(output_hidden_states=True) returns them:
    [0] = pre_layrnorm output, [i] = output of encoder layer i-1; each [1 + P, D]."""
    v, W = m.cfg.vision, m.W
    e = "vision_tower.vision_model.embeddings."
    patches = F.conv2d(pixels.to(m.dtype)[None], W[e + "patch_embedding.weight"], stride=v.patch_size)  # [1, D, g, g]
    patches = patches.flatten(2)[0].T  # [P, D], patches in row-major (row, column) order
    x = torch.cat([W[e + "class_embedding"][None], patches], dim=0)  # [1 + P, D], CLS first
    x = x + W[e + "position_embedding.weight"]  # position ids 0..P
    x = F.layer_norm(x, (v.hidden_size,), W["vision_tower.vision_model.pre_layrnorm.weight"],
                     W["vision_tower.vision_model.pre_layrnorm.bias"], v.layer_norm_eps)
    states = [x]
    for i in range(v.num_layers):
        x = clip_layer(m, i, x)
        states.append(x)
    return states  # post_layernorm is never applied: LLaVA reads hidden_states, not pooler_output


def image_features(m: Model, pixels: torch.Tensor) -> torch.Tensor:
    """LlavaForConditionalGeneration's vision features: hidden_states[vision_feature_layer] (default -2,
    the output of the second-to-last layer); strategy "default" drops CLS. -> [P, Dv]."""
    h = vision_hidden_states(m, pixels)[m.cfg.vision_feature_layer]
    return h[1:] if m.cfg.vision_feature_select_strategy == "default" else h


def project(m: Model, feats: torch.Tensor) -> torch.Tensor:
    """LlavaMultiModalProjector: linear_2(gelu(linear_1 x)), exact GELU. [P, Dv] -> [P, d]."""
    return linear(m.W, "multi_modal_projector.linear_2", gelu_exact(linear(m.W, "multi_modal_projector.linear_1", feats)))


@dataclass
class Sequence:
    """The prompt as the decoder sees it, and where the image features sit in it."""
    h: torch.Tensor  # [T, d] hidden states
    positions: torch.Tensor  # [T] int64 RoPE position ids
    span_start: int  # index of the first image-feature row (0 when there is no image)
    span_len: int  # number of image-feature rows currently in the sequence
    image_index: torch.Tensor  # [span_len] index of each surviving row among the original P features


def embed_prompt(m: Model, input_ids: list[int], pixels: torch.Tensor | None) -> Sequence:
    """Embeds the prompt and replaces its single <image> token by the P projected image features
    (what modeling_llava's merge does for one image and no padding). Positions 0..T-1."""
    ids = torch.tensor(input_ids, dtype=torch.long)
    emb = m.W["language_model.model.embed_tokens.weight"][ids]  # [L, d]
    where = [i for i, t in enumerate(input_ids) if t == m.cfg.image_token_index]
    if len(where) > 1:
        raise ValueError("embed_prompt: more than one image token in input_ids")
    if (len(where) == 1) != (pixels is not None):
        raise ValueError("embed_prompt: an image token needs pixels, and pixels need an image token")
    if not where:
        return Sequence(emb, torch.arange(len(input_ids)), 0, 0, torch.zeros(0, dtype=torch.long))
    s = where[0]
    img = project(m, image_features(m, pixels))  # [P, d]
    h = torch.cat([emb[:s], img, emb[s + 1 :]], dim=0)  # [L - 1 + P, d]
    return Sequence(h, torch.arange(h.shape[0]), s, img.shape[0], torch.arange(img.shape[0]))


# ------------------------------------------------------------------------------------------------
# Llama decoder (modeling_llama) with a per-layer KV cache.
# ------------------------------------------------------------------------------------------------


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    """LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), then * weight."""
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype):
    """LlamaRotaryEmbedding: inv_freq = 1 / theta^(arange(0, hd, 2)/hd) and angles = pos * inv_freq, both
    in float32 as Hugging Face computes them (float64 only when the whole reference runs in float64).
    Returns cos, sin: [T, hd], the angles repeated as cat(angles, angles)."""
    ft = torch.float64 if dtype == torch.float64 else torch.float32
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(ft) / head_dim))  # [hd/2]
    angles = positions.to(ft)[:, None] * inv_freq[None, :]  # [T, hd/2]
    emb = torch.cat([angles, angles], dim=-1)  # [T, hd]
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)  # pairs (i, i + hd/2), not interleaved


def apply_rope(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """x: [T, H, hd] rotated at positions [T]."""
    cos, sin = rope_cos_sin(positions, x.shape[-1], theta, x.dtype)
    return x * cos[:, None, :] + rotate_half(x) * sin[:, None, :]


@dataclass
class LayerCache:
    """K/V one decoder layer has cached: K after RoPE. Rows are in sequence order."""
    k: torch.Tensor  # [S, kv_heads, hd]
    v: torch.Tensor  # [S, kv_heads, hd]
    positions: torch.Tensor  # [S] position ids of the cached tokens


def empty_cache(m: Model) -> LayerCache:
    t = m.cfg.text
    z = torch.zeros(0, t.num_kv_heads, t.head_dim, dtype=m.dtype)
    return LayerCache(z, z.clone(), torch.zeros(0, dtype=torch.long))


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """[S, kv, hd] -> [S, kv * n_rep, hd]; query head h reads kv head h // n_rep (modeling_llama.repeat_kv)."""
    return x.repeat_interleave(n_rep, dim=1)


def decoder_layer(m: Model, i: int, x: torch.Tensor, positions: torch.Tensor, cache: LayerCache,
                  want_probs: bool = False):
    """One LlamaDecoderLayer over new rows x [T, d] at positions [T], attending to the cached rows and
    to themselves causally (new row j sees cache rows and new rows 0..j). Appends its K/V to `cache`.
    Returns (out [T, d], attention probabilities [H, T, S + T] or None)."""
    t, W = m.cfg.text, m.W
    p = f"language_model.model.layers.{i}."
    T, H, KV, hd = x.shape[0], t.num_heads, t.num_kv_heads, t.head_dim

    h = rms_norm(x, W[p + "input_layernorm.weight"], t.rms_norm_eps)
    q = apply_rope(linear(W, p + "self_attn.q_proj", h).view(T, H, hd), positions, t.rope_theta)  # [T, H, hd]
    k = apply_rope(linear(W, p + "self_attn.k_proj", h).view(T, KV, hd), positions, t.rope_theta)  # [T, KV, hd]
    v = linear(W, p + "self_attn.v_proj", h).view(T, KV, hd)  # [T, KV, hd]
    cache.k = torch.cat([cache.k, k])  # [S + T, KV, hd]
    cache.v = torch.cat([cache.v, v])
    cache.positions = torch.cat([cache.positions, positions])

    S = cache.k.shape[0] - T  # rows cached before this call
    keys = repeat_kv(cache.k, H // KV).transpose(0, 1)  # [H, S + T, hd]
    vals = repeat_kv(cache.v, H // KV).transpose(0, 1)  # [H, S + T, hd]
    logits = (q.transpose(0, 1) @ keys.transpose(1, 2)) / math.sqrt(hd)  # [H, T, S + T]
    visible = torch.arange(S + T)[None, :] <= (S + torch.arange(T))[:, None]  # causal in cache order
    logits = logits.masked_fill(~visible, float("-inf"))
    probs = torch.softmax(logits, dim=-1)  # softmax in the compute dtype (float32 as HF upcasts)
    attn = (probs @ vals).transpose(0, 1).reshape(T, H * hd)  # [T, d]
    x = x + linear(W, p + "self_attn.o_proj", attn)

    h = rms_norm(x, W[p + "post_attention_layernorm.weight"], t.rms_norm_eps)
    mlp = linear(W, p + "mlp.down_proj", F.silu(linear(W, p + "mlp.gate_proj", h)) * linear(W, p + "mlp.up_proj", h))
    return x + mlp, (probs if want_probs else None)


def lm_logits(m: Model, x: torch.Tensor) -> torch.Tensor:
    """Final RMSNorm and the untied lm_head. x: [T, d] -> [T, vocab]."""
    h = rms_norm(x, m.W["language_model.model.norm.weight"], m.cfg.text.rms_norm_eps)
    return h @ m.W["language_model.lm_head.weight"].T


# ------------------------------------------------------------------------------------------------
# Schedules: "none" | "adsc:L=r,..." | "fastv:K=k,R=rho" | "pdrop:layers=a,b,c,ratio=rho"
# ------------------------------------------------------------------------------------------------


@dataclass
class Schedule:
    kind: str  # "none" | "adsc" | "fastv" | "pdrop"
    adsc: list[tuple[int, float | Fraction]] = field(default_factory=list)  # (layer, keep ratio), layer order
    fastv_k: int = 0
    fastv_r: float = 0.0
    pdrop_layers: list[int] = field(default_factory=list)
    pdrop_ratio: float = 0.0

    @property
    def default_positions(self) -> str:
        return "renumber" if self.kind == "pdrop" else "original"


def parse_ratio(text: str) -> float | Fraction:
    """"0.5" -> float; "1/3" -> exact Fraction."""
    if "/" in text:
        p, q = text.split("/")
        return Fraction(int(p), int(q))
    return float(text)


def parse_schedule(text: str, num_layers: int) -> Schedule:
    if text == "none":
        return Schedule("none")
    kind, _, body = text.partition(":")
    # "layers=1,2,3,ratio=0.5": a bare item continues the previous key's list.
    items: dict[str, list[str]] = {}
    key = None
    for part in body.split(","):
        if "=" in part:
            key, val = part.split("=", 1)
            if key in items:
                raise ValueError(f"schedule {text!r}: {key} given twice")
            items[key] = [val]
        elif key is not None and kind != "adsc":
            items[key].append(part)
        else:
            raise ValueError(f"schedule {text!r}: cannot parse {part!r}")
    if kind == "adsc":
        entries = sorted((int(k), parse_ratio(v[0])) for k, v in items.items())
        for layer, r in entries:
            if not 0 <= layer < num_layers or not 0 < r <= 1:
                raise ValueError(f"schedule {text!r}: layer {layer} or ratio {r} out of range")
        return Schedule("adsc", adsc=entries)
    if kind == "fastv":
        k, r = int(items["K"][0]), float(items["R"][0])
        if not 1 <= k < num_layers or not 0 <= r < 1:
            raise ValueError(f"schedule {text!r}: K or R out of range")
        return Schedule("fastv", fastv_k=k, fastv_r=r)
    if kind == "pdrop":
        layers = sorted(int(x) for x in items["layers"])
        if any(not 1 <= l < num_layers for l in layers):
            raise ValueError(f"schedule {text!r}: layers must be in 1..{num_layers - 1}")
        return Schedule("pdrop", pdrop_layers=layers, pdrop_ratio=float(items["ratio"][0]))
    raise ValueError(f"schedule {text!r}: unknown kind {kind!r}")


def adsc_keep_count(n: int, r: float | Fraction) -> int:
    """k = max(1, floor(n*r + 1e-6)); with r = p/q exactly, k = max(1, floor(n*p/q)) in integers."""
    if isinstance(r, Fraction):
        return max(1, n * r.numerator // r.denominator)
    return max(1, math.floor(n * r + 1e-6))


def adsc_keep_indices(n: int, r: float | Fraction) -> list[int]:
    """Uniform downsampling: span indices floor(j*n/k), j = 0..k-1 (the first of each stride)."""
    k = adsc_keep_count(n, r)
    return [j * n // k for j in range(k)]


def top_k_in_order(scores: list[float], k: int) -> list[int]:
    """Indices of the k largest scores (ties: lower index wins), returned in ascending index order."""
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(ranked[:k])


def cutoff_gap(scores: list[float], k: int) -> float:
    """How far the k-th kept score is above the best dropped one (inf when nothing is dropped): how
    safe the selection is against rounding differences between implementations."""
    s = sorted(scores, reverse=True)
    return float("inf") if k >= len(s) or k == 0 else s[k - 1] - s[k]


def fastv_scores(seq: Sequence, probs: torch.Tensor) -> list[float]:
    """FastV: layer K-1's probabilities [H, T, T] averaged over heads; the last token's row, restricted
    to the image span."""
    row = probs.mean(dim=0)[-1]  # [T]
    return row[seq.span_start : seq.span_start + seq.span_len].tolist()


def pdrop_scores(m: Model, layer: int, seq: Sequence) -> list[float]:
    """PyramidDrop ranking before `layer`: that layer's input RMSNorm, q_proj, k_proj and RoPE at the
    current positions; the last token's query against all T keys; softmax per head (fp32), mean over
    heads; restricted to the image span."""
    t, W = m.cfg.text, m.W
    p = f"language_model.model.layers.{layer}."
    T, H, KV, hd = seq.h.shape[0], t.num_heads, t.num_kv_heads, t.head_dim
    h = rms_norm(seq.h, W[p + "input_layernorm.weight"], t.rms_norm_eps)
    q = apply_rope(linear(W, p + "self_attn.q_proj", h[-1:]).view(1, H, hd), seq.positions[-1:], t.rope_theta)[0]  # [H, hd]
    k = apply_rope(linear(W, p + "self_attn.k_proj", h).view(T, KV, hd), seq.positions, t.rope_theta)  # [T, KV, hd]
    k = repeat_kv(k, H // KV).transpose(0, 1)  # [H, T, hd]
    probs = torch.softmax((k @ q[:, :, None])[:, :, 0] / math.sqrt(hd), dim=-1)  # [H, T]
    return probs.mean(dim=0)[seq.span_start : seq.span_start + seq.span_len].tolist()


def keep_span(seq: Sequence, keep: list[int], positions_mode: str) -> Sequence:
    """Drops image rows not in `keep` (span-relative indices, ascending); text rows stay; order kept."""
    s, n = seq.span_start, seq.span_len
    rows = torch.tensor(list(range(s)) + [s + j for j in keep] + list(range(s + n, seq.h.shape[0])), dtype=torch.long)
    positions = seq.positions[rows]
    if positions_mode == "renumber":
        positions = torch.arange(rows.shape[0])
    return Sequence(seq.h[rows], positions, s, len(keep), seq.image_index[torch.tensor(keep, dtype=torch.long)])


# ------------------------------------------------------------------------------------------------
# Prefill under a schedule, then greedy decode with the KV cache.
# ------------------------------------------------------------------------------------------------


@dataclass
class Run:
    prefill_logits: torch.Tensor  # [vocab], last prompt position
    output_ids: list[int]
    step_logits: list[torch.Tensor]  # logits that chose each output id (prefill's first)
    tokens_per_layer: list[int]
    vision_tokens_per_layer: list[int]
    kept_image_indices: list[list[int]]  # per layer, which of the original P image features it processed
    kv_cache_elements: int
    selection_gaps: list[float] = field(default_factory=list)  # cutoff_gap of each FastV / PDrop drop


def prefill(m: Model, input_ids: list[int], pixels, schedule: str, positions_mode: str | None = None):
    """Runs the prompt through the decoder, applying the schedule's reductions. Returns the Run
    (without output ids), the per-layer caches and the final hidden state of the last token."""
    t = m.cfg.text
    sched = parse_schedule(schedule, t.num_layers)
    mode = positions_mode or sched.default_positions
    if mode not in ("original", "renumber"):
        raise ValueError(f"positions mode {mode!r}")
    seq = embed_prompt(m, input_ids, pixels)
    caches = [empty_cache(m) for _ in range(t.num_layers)]
    tokens, vision, kept, gaps = [], [], [], []
    fastv_pending = None  # scores from layer K-1, applied before layer K

    for l in range(t.num_layers):
        # 1. reductions that fire before layer l (only ever inside the image span)
        if seq.span_len > 0:
            if sched.kind == "adsc":
                for layer, r in sched.adsc:
                    if layer == l:
                        seq = keep_span(seq, adsc_keep_indices(seq.span_len, r), mode)
            elif sched.kind == "fastv" and l == sched.fastv_k:
                keep_n = math.floor(seq.span_len * (1 - sched.fastv_r) + 0.5)
                gaps.append(cutoff_gap(fastv_pending, keep_n))
                seq = keep_span(seq, top_k_in_order(fastv_pending, keep_n), mode)
            elif sched.kind == "pdrop" and l in sched.pdrop_layers:
                scores = pdrop_scores(m, l, seq)
                keep_n = max(1, math.floor(seq.span_len * sched.pdrop_ratio))
                gaps.append(cutoff_gap(scores, keep_n))
                seq = keep_span(seq, top_k_in_order(scores, keep_n), mode)
        # 2. layer l on the (possibly shorter) sequence; plain causal mask over it; caches what it ran
        tokens.append(seq.h.shape[0])
        vision.append(seq.span_len)
        kept.append(seq.image_index.tolist())
        want = sched.kind == "fastv" and l == sched.fastv_k - 1
        h, probs = decoder_layer(m, l, seq.h, seq.positions, caches[l], want_probs=want)
        seq = Sequence(h, seq.positions, seq.span_start, seq.span_len, seq.image_index)
        if want and seq.span_len > 0:
            fastv_pending = fastv_scores(seq, probs)

    logits = lm_logits(m, seq.h[-1:])[0]
    kv = sum(2 * c.k.shape[0] * t.num_kv_heads * t.head_dim for c in caches)
    run = Run(logits, [], [], tokens, vision, kept, kv, gaps)
    return run, caches


def decode_step(m: Model, token_id: int, caches: list[LayerCache]) -> torch.Tensor:
    """One new token through every layer against that layer's cache; no further pruning. At layer l the
    token's position is (last position layer l cached) + 1: prompt_len + step with original ids, the
    layer's cache length with renumbered ids. Returns logits [vocab]."""
    x = m.W["language_model.model.embed_tokens.weight"][torch.tensor([token_id])]  # [1, d]
    for l, cache in enumerate(caches):
        pos = cache.positions[-1:] + 1  # [1]
        x, _ = decoder_layer(m, l, x, pos, cache)
    return lm_logits(m, x)[0]


def generate(m: Model, input_ids: list[int], pixels, schedule: str = "none", positions_mode: str | None = None,
             max_new_tokens: int = 6, stop_at_eos: bool = True) -> Run:
    """Greedy decoding: the first new token is argmax of the prefill logits, each later one argmax of a
    decode step fed the previous token (max_new_tokens tokens from max_new_tokens - 1 decode steps).
    Stops after emitting eos_token_id when stop_at_eos."""
    run, caches = prefill(m, input_ids, pixels, schedule, positions_mode)
    logits = run.prefill_logits
    while True:
        tok = int(torch.argmax(logits))  # first maximum on ties
        run.output_ids.append(tok)
        run.step_logits.append(logits)
        if len(run.output_ids) == max_new_tokens or (stop_at_eos and tok == m.cfg.eos_token_id):
            return run
        logits = decode_step(m, tok, caches)


def top1_margin(logits: torch.Tensor) -> float:
    top = torch.topk(logits, 2).values
    return float(top[0] - top[1])

"""Golden fixtures for @adsc/model's image decoding and preprocessing.

Run: /usr/bin/python3 packages/model/scripts/preprocess_golden.py   (PIL 9.4 + numpy; no torch needed)
Writes packages/model/test/fixtures/preprocess/.

transformers is not installed here, so CLIPImageProcessor's steps are written out below, each citing
the transformers function it mirrors (transformers/image_transforms.py and
models/clip/image_processing_clip.py). The resampling itself is PIL's own `Image.resize`, exactly as
transformers calls it, so the resize goldens are PIL's bytes.

Outputs:
- source images: scene-500x375.png (gradient with shapes), small-200x150.png, noise-97x211.png
  (uniform noise at odd sizes); photo-200x150.jpg (small-200x150 saved by PIL at quality 90) and
  photo-200x150.pil.png (PIL's decoding of that JPEG); gray-64x48.jpg and gray-64x48.pil.png.
- resize goldens: resize-<source>-to-<W>x<H>.png, PIL `resize((W, H), Image.BICUBIC)`.
- formats/*.png (hand-written PNGs of every colour type and bit depth) and formats.json: the RGB
  pixels PIL's `convert('RGB')` gives for each.
- pixel_values goldens: <name>.f32.bin.gz, CHW float32 little-endian, gzip'd; preprocess.json lists
  them with their shapes and the steps' intermediate sizes.
"""
import gzip
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "preprocess")
os.makedirs(os.path.join(OUT, "formats"), exist_ok=True)

# llava-hf/llava-1.5-7b-hf preprocessor_config.json (the fields CLIPImageProcessor reads).
LLAVA_CONFIG = {
    "do_resize": True,
    "size": {"shortest_edge": 336},
    "resample": 3,
    "do_center_crop": True,
    "crop_size": {"height": 336, "width": 336},
    "do_rescale": True,
    "rescale_factor": 0.00392156862745098,
    "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "do_convert_rgb": True,
}

rng = np.random.default_rng(1234)


def save_png(arr, name):
    Image.fromarray(arr, "RGB").save(os.path.join(OUT, name), optimize=True)


# -- source images ---------------------------------------------------------------------------------


def scene(w, h):
    """Smooth gradients (so PNG stays small) plus hard-edged shapes (so bicubic overshoots and the
    clipping to 0..255 is exercised) plus a noise patch (so every rounding case occurs)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = x * 255 / (w - 1)
    g = y * 255 / (h - 1)
    b = 128 + 100 * np.sin(x / 23.0) * np.cos(y / 17.0)
    img = np.stack([r, g, b], axis=-1)
    img[(x - 0.3 * w) ** 2 + (y - 0.4 * h) ** 2 < (0.15 * h) ** 2] = [255, 255, 255]
    img[int(0.55 * h):int(0.8 * h), int(0.55 * w):int(0.85 * w)] = [0, 0, 0]
    img[np.abs((x - 0.1 * w) - (y - 0.6 * h)) < 2] = [255, 0, 0]
    n = min(64, w // 4, h // 4)
    img[10:10 + n, w - 10 - n:w - 10] = rng.integers(0, 256, size=(n, n, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


scene_img = scene(500, 375)
save_png(scene_img, "scene-500x375.png")

small_img = scene(200, 150)
small_img[100:140, 10:60] = rng.integers(0, 256, size=(40, 50, 3))
save_png(small_img, "small-200x150.png")

noise_img = rng.integers(0, 256, size=(211, 97, 3)).astype(np.uint8)
save_png(noise_img, "noise-97x211.png")

tiny_img = rng.integers(0, 256, size=(5, 7, 3)).astype(np.uint8)
save_png(tiny_img, "tiny-7x5.png")

# JPEGs: PIL's encoder (libjpeg-turbo), default 4:2:0 subsampling at quality 90, and PIL's decoding.
Image.fromarray(small_img).save(os.path.join(OUT, "photo-200x150.jpg"), quality=90)
save_png(np.array(Image.open(os.path.join(OUT, "photo-200x150.jpg")).convert("RGB")), "photo-200x150.pil.png")
gray = np.array(Image.fromarray(scene(64, 48)).convert("L"))
Image.fromarray(gray, "L").save(os.path.join(OUT, "gray-64x48.jpg"), quality=90)
save_png(np.array(Image.open(os.path.join(OUT, "gray-64x48.jpg")).convert("RGB")), "gray-64x48.pil.png")

# -- resize goldens: PIL's own bicubic ------------------------------------------------------------

sources = {"scene-500x375": scene_img, "small-200x150": small_img, "noise-97x211": noise_img, "tiny-7x5": tiny_img}
resizes = [
    ("scene-500x375", 448, 336),  # shortest edge 375 -> 336: the llava-hf case, downscale 0.896
    ("scene-500x375", 61, 47),  # strong downscale: support widened to ~16 taps
    ("scene-500x375", 523, 161),  # enlarge x, shrink y
    ("small-200x150", 448, 336),  # upscale 2.24
    ("noise-97x211", 45, 98),  # odd sizes, noise: every rounding case
    ("noise-97x211", 131, 250),  # odd upscale
    ("tiny-7x5", 3, 11),  # tiny: windows clipped at both borders
]
resize_list = []
for src, w, h in resizes:
    name = f"resize-{src}-to-{w}x{h}.png"
    save_png(np.array(Image.fromarray(sources[src]).resize((w, h), resample=Image.BICUBIC)), name)
    resize_list.append({"source": f"{src}.png", "width": w, "height": h, "golden": name})

# -- PNG colour types and bit depths, and what PIL's convert('RGB') makes of them -----------------


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(w, h, depth, color_type, rows, extra=b""):
    """A PNG with filter type 0 on every row; `rows` are the packed sample bytes of each row."""
    raw = b"".join(b"\x00" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pack_bits(values, depth):
    out, acc, nbits = bytearray(), 0, 0
    for v in values:
        acc = (acc << depth) | v
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


W, H = 5, 2
formats = {}


def add_format(name, data, note):
    path = os.path.join(OUT, "formats", name)
    with open(path, "wb") as f:
        f.write(data)
    im = Image.open(path)
    rgb = np.array(im.convert("RGB"))
    formats[name] = {"pil_mode": im.mode, "note": note, "width": im.size[0], "height": im.size[1], "rgb": rgb.flatten().tolist()}


def samples(n, maximum):
    return rng.integers(0, maximum + 1, size=n).tolist()


for depth in (1, 2, 4, 8):
    rows = [pack_bits(samples(W, 2**depth - 1), depth) for _ in range(H)]
    add_format(f"gray{depth}.png", png_bytes(W, H, depth, 0, rows), f"grayscale, {depth}-bit")
g16 = [samples(W, 65535) for _ in range(H)]
g16[0][0] = 200  # below 256: PIL's I -> RGB keeps it
add_format("gray16.png", png_bytes(W, H, 16, 0, [struct.pack(f">{W}H", *r) for r in g16]), "grayscale, 16-bit (PIL mode I; convert clips to 255)")
rows = [bytes(samples(3 * W, 255)) for _ in range(H)]
add_format("rgb8.png", png_bytes(W, H, 8, 2, rows), "RGB 8-bit")
add_format("rgb16.png", png_bytes(W, H, 16, 2, [struct.pack(f">{3 * W}H", *samples(3 * W, 65535)) for _ in range(H)]), "RGB 16-bit")
add_format("gray-alpha8.png", png_bytes(W, H, 8, 4, [bytes(samples(2 * W, 255)) for _ in range(H)]), "grayscale + alpha, 8-bit")
add_format("gray-alpha16.png", png_bytes(W, H, 16, 4, [struct.pack(f">{2 * W}H", *samples(2 * W, 65535)) for _ in range(H)]), "grayscale + alpha, 16-bit")
rgba = [samples(4 * W, 255) for _ in range(H)]
rgba[0][3] = 0  # fully transparent pixel: PIL drops alpha, the colour stays
add_format("rgba8.png", png_bytes(W, H, 8, 6, [bytes(r) for r in rgba]), "RGBA 8-bit (alpha dropped, not composited)")
add_format("rgba16.png", png_bytes(W, H, 16, 6, [struct.pack(f">{4 * W}H", *samples(4 * W, 65535)) for _ in range(H)]), "RGBA 16-bit")
palette = bytes(samples(3 * 6, 255))
plte = chunk(b"PLTE", palette)
for depth in (2, 4, 8):
    rows = [pack_bits(samples(W, min(5, 2**depth - 1)), depth) for _ in range(H)]
    add_format(f"palette{depth}.png", png_bytes(W, H, depth, 3, rows, plte + chunk(b"tRNS", bytes([0, 128]))), f"palette, {depth}-bit, with tRNS")
# tRNS on non-palette images: one colour is 'transparent'; PIL's convert('RGB') keeps that colour.
rows = [bytes([10, 20, 30] * 2 + samples(3 * (W - 2), 255)) for _ in range(H)]
add_format("rgb8-trns.png", png_bytes(W, H, 8, 2, rows, chunk(b"tRNS", struct.pack(">3H", 10, 20, 30))), "RGB 8-bit with a tRNS colour")
rows = [pack_bits([3, 3] + samples(W - 2, 15), 4) for _ in range(H)]
add_format("gray4-trns.png", png_bytes(W, H, 4, 0, rows, chunk(b"tRNS", struct.pack(">H", 3))), "grayscale 4-bit with a tRNS value")
rows = [struct.pack(f">{W}H", 0x1234, *samples(W - 1, 65535)) for _ in range(H)]
add_format("rgb16-trns.png", png_bytes(W, H, 16, 2, [struct.pack(f">{3 * W}H", 0x1234, 0x5678, 0x9ABC, *samples(3 * (W - 1), 65535)) for _ in range(H)], chunk(b"tRNS", struct.pack(">3H", 0x1234, 0x5678, 0x9ABC))), "RGB 16-bit with a tRNS colour")

with open(os.path.join(OUT, "formats.json"), "w") as f:
    json.dump(formats, f, indent=1)

# -- CLIPImageProcessor, step by step ---------------------------------------------------------------


def convert_to_rgb(image):
    """transformers.image_transforms.convert_to_rgb: PIL's convert('RGB') unless already RGB."""
    return image if image.mode == "RGB" else image.convert("RGB")


def get_resize_output_image_size(height, width, shortest_edge):
    """transformers.image_transforms.get_resize_output_image_size with default_to_square=False,
    as CLIPImageProcessor.resize calls it for size {"shortest_edge": n}: (height, width)."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = shortest_edge, int(shortest_edge * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def resize(image, height, width, resample):
    """transformers.image_transforms.resize: uint8 HWC -> PIL (to_pil_image, no rescale for uint8)
    -> PIL.Image.resize((width, height), resample, reducing_gap=None) -> numpy HWC."""
    return np.array(Image.fromarray(image).resize((width, height), resample=resample, reducing_gap=None))


def center_crop(image, crop_height, crop_width):
    """transformers.image_transforms.center_crop on HWC: top = (h - ch) // 2, left = (w - cw) // 2;
    an image smaller than the crop is first placed at ceil((c - o) / 2) on a zero canvas."""
    h, w = image.shape[:2]
    top, left = (h - crop_height) // 2, (w - crop_width) // 2
    if top >= 0 and left >= 0 and top + crop_height <= h and left + crop_width <= w:
        return image[top:top + crop_height, left:left + crop_width]
    new_h, new_w = max(crop_height, h), max(crop_width, w)
    canvas = np.zeros((new_h, new_w) + image.shape[2:], dtype=image.dtype)
    top_pad, left_pad = -(-(new_h - h) // 2), -(-(new_w - w) // 2)
    canvas[top_pad:top_pad + h, left_pad:left_pad + w] = image
    top, left = top + top_pad, left + left_pad
    return canvas[max(0, top):min(new_h, top + crop_height), max(0, left):min(new_w, left + crop_width)]


def rescale(image, scale):
    """transformers.image_transforms.rescale: upcast to float64, multiply, downcast to float32."""
    return (image.astype(np.float64) * scale).astype(np.float32)


def normalize(image, mean, std):
    """transformers.image_transforms.normalize on a float32 HWC image: mean and std cast to the
    image's dtype, then (image - mean) / std in float32."""
    if not np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32)
    return (image - np.array(mean, dtype=image.dtype)) / np.array(std, dtype=image.dtype)


def clip_preprocess(pil_image, cfg):
    """CLIPImageProcessor.preprocess for one image, data_format channels-first."""
    image = np.array(convert_to_rgb(pil_image))  # to_numpy_array: HWC uint8
    steps = {"input": list(image.shape[:2])}
    if cfg["do_resize"]:
        h, w = get_resize_output_image_size(image.shape[0], image.shape[1], cfg["size"]["shortest_edge"])
        image = resize(image, h, w, cfg["resample"])
        steps["resized"] = [h, w]
    if cfg["do_center_crop"]:
        image = center_crop(image, cfg["crop_size"]["height"], cfg["crop_size"]["width"])
    if cfg["do_rescale"]:
        image = rescale(image, cfg["rescale_factor"])
    if cfg["do_normalize"]:
        image = normalize(image, cfg["image_mean"], cfg["image_std"])
    return np.ascontiguousarray(image.transpose(2, 0, 1)).astype(np.float32), steps


def expand2square(pil_img, background_color):
    """LLaVA's llava/mm_utils.py expand2square: paste centred on a square canvas."""
    width, height = pil_img.size
    if width == height:
        return pil_img
    if width > height:
        result = Image.new(pil_img.mode, (width, width), background_color)
        result.paste(pil_img, (0, (width - height) // 2))
        return result
    result = Image.new(pil_img.mode, (height, height), background_color)
    result.paste(pil_img, ((height - width) // 2, 0))
    return result


LLAVA_BACKGROUND = tuple(int(x * 255) for x in LLAVA_CONFIG["image_mean"])  # (122, 116, 104)

cases = [
    ("crop-scene-500x375", "scene-500x375.png", "crop"),
    ("pad-scene-500x375", "scene-500x375.png", "pad"),
    ("crop-noise-97x211", "noise-97x211.png", "crop"),
    ("pad-noise-97x211", "noise-97x211.png", "pad"),
]
golden = {"background": list(LLAVA_BACKGROUND), "resize": resize_list, "pixel_values": {}}
for name, source, aspect in cases:
    pil = Image.open(os.path.join(OUT, source))
    if aspect == "pad":
        pil = expand2square(pil.convert("RGB"), LLAVA_BACKGROUND)
    values, steps = clip_preprocess(pil, LLAVA_CONFIG)
    with gzip.GzipFile(os.path.join(OUT, f"{name}.f32.bin.gz"), "wb", mtime=0) as f:
        f.write(values.astype("<f4").tobytes())
    golden["pixel_values"][name] = {"source": source, "aspect": aspect, "shape": list(values.shape), **steps}

with open(os.path.join(OUT, "preprocess.json"), "w") as f:
    json.dump(golden, f, indent=1)

total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns)
print(f"wrote {OUT} ({total / 1e6:.2f} MB)")

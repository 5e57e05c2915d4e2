/**
 * Decoding PNG and JPEG files into 8-bit RGB pixels, as PIL's `Image.open(f).convert('RGB')` would.
 *
 * The CLIP preprocessing (preprocess.ts) starts from the pixels PIL hands to transformers, so this
 * file reproduces PIL's conversions to RGB rather than a colour-managed "correct" one:
 * - grayscale is replicated into R, G and B; 1-, 2- and 4-bit samples are scaled to 0..255;
 * - alpha (RGBA, grayscale + alpha, a palette's or a tRNS chunk's transparency) is dropped, not
 *   composited: a fully transparent pixel keeps its colour;
 * - 16-bit RGB, RGBA and grayscale + alpha samples keep their high byte (PIL's "RGB;16B" unpacking);
 * - 16-bit grayscale opens in PIL as mode "I" (32-bit integers), whose conversion to RGB clips to
 *   255, so any sample above 255 becomes white (a PIL quirk, reproduced on purpose);
 * - gamma (gAMA), colour profiles and EXIF orientation are ignored, as PIL's `open` ignores them.
 * PNG goes through pngjs with `skipRescale` (this file does the bit-depth scaling itself); JPEG goes
 * through jpeg-js for the entropy decoding and IDCT, then libjpeg-turbo's chroma upsampling and
 * colour conversion are redone here (see the JPEG section); the IDCTs' rounding still differs by up
 * to 3 levels (measured in test/image.test.ts).
 */
import { FileError, readRegularFile } from '@adsc/safetensors';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { checkImageDimensions } from './limits.js';

/** An 8-bit RGB image: `data[(y * width + x) * 3 + c]`, row-major, channels interleaved. */
export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes. */
  data: Uint8Array;
}

/** Creates an image of the given size, filled with `fill` (an RGB triple), checking the sizes. */
export function createRgbImage(width: number, height: number, fill: readonly [number, number, number] = [0, 0, 0]): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`createRgbImage: size ${width}x${height} is not a positive integer size`);
  }
  const data = new Uint8Array(width * height * 3);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { width, height, data };
}

/** Throws unless `img` is a well-formed RgbImage; `where` names the caller in the message. */
export function checkRgbImage(img: RgbImage, where: string): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${where}: image size ${width}x${height} is not a positive integer size`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new Error(`${where}: a ${width}x${height} RGB image needs ${width * height * 3} bytes, got ${data?.length}`);
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/**
 * Decodes PNG or JPEG bytes (told apart by their signature, not by the name) into 8-bit RGB.
 * `name` (a file name) is only used in error messages. The size the file declares is checked
 * against the pixel limit (checkImageDimensions) before anything is decoded.
 */
export function decodeImage(bytes: Uint8Array, name = 'image'): RgbImage {
  const png = startsWith(bytes, PNG_SIGNATURE);
  if (!png && !startsWith(bytes, [0xff, 0xd8, 0xff])) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ImageError(`${name}: not a PNG or JPEG file (${bytes.length === 0 ? 'empty' : `starts with bytes ${head}`})`);
  }
  const declared = png ? pngSize(bytes) : readJpegHeader(bytes)?.size;
  if (declared !== undefined && declared.width > 0 && declared.height > 0) checkImageDimensions(declared.width, declared.height, name);
  return png ? decodePng(bytes, name) : decodeJpeg(bytes, name);
}

export class ImageError extends Error {
  override name = 'ImageError';
  constructor(
    message: string,
    readonly code = 'InvalidImage',
  ) {
    super(message);
  }
}

/** The largest image file read: far above any photo, and the pixel limit applies after it. */
export const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;

/**
 * Reads and decodes an image file; a missing, unreadable or non-regular file (a FIFO would block
 * forever) is named in the error. `name` is what errors call the image when the path alone does
 * not say enough, e.g. "train.jsonl, record 17: cat.png".
 */
export function readImage(path: string, name = path): RgbImage {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path, MAX_IMAGE_FILE_BYTES);
  } catch (e) {
    if (e instanceof FileError) throw new ImageError(name === path ? e.message : `${name}: ${e.message}`, e.code);
    throw e;
  }
  return decodeImage(bytes, name);
}

/** Width and height from a PNG's IHDR chunk (always first, at byte 8), if the file is that long. */
function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

// PNG colour types (the IHDR field).
const GRAY = 0;
const PALETTE = 3;

function decodePng(bytes: Uint8Array, name: string): RgbImage {
  let png: PNG & { depth?: number; colorType?: number; transColor?: number[] };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (e) {
    throw new ImageError(`${name}: cannot decode PNG: ${(e as Error).message}`);
  }
  const { width, height, depth = 8, colorType = 6, transColor } = png;
  // pngjs hands back RGBA: 8-bit samples in a Buffer (palette already looked up, 1/2/4-bit samples
  // left unscaled because of skipRescale), or 16-bit samples in a Uint16Array.
  const src = png.data as unknown as ArrayLike<number>;
  const img = createRgbImage(width, height);
  const out = img.data;
  const n = width * height;
  if (colorType === PALETTE) {
    for (let p = 0; p < n; p++) {
      out[p * 3] = src[p * 4];
      out[p * 3 + 1] = src[p * 4 + 1];
      out[p * 3 + 2] = src[p * 4 + 2];
    }
    return img;
  }
  // Sample value -> 8 bits, as PIL unpacks it (see the file comment).
  const to8 =
    depth === 16 ? (colorType === GRAY ? (v: number) => Math.min(v, 255) : (v: number) => v >> 8)
    : depth === 8 ? (v: number) => v
    : (v: number) => (v * 255) / ((1 << depth) - 1); // exact: 255, 85 and 17 times v
  // pngjs zeroes the whole pixel (colour too) where a tRNS colour matches; PIL keeps the colour, and
  // the zeroed pixels are exactly the ones whose colour was the tRNS colour.
  const trns = transColor?.map(to8);
  for (let p = 0; p < n; p++) {
    if (trns !== undefined && src[p * 4 + 3] === 0) {
      out[p * 3] = trns[0];
      out[p * 3 + 1] = trns.length === 1 ? trns[0] : trns[1];
      out[p * 3 + 2] = trns.length === 1 ? trns[0] : trns[2];
    } else {
      out[p * 3] = to8(src[p * 4]);
      out[p * 3 + 1] = to8(src[p * 4 + 1]);
      out[p * 3 + 2] = to8(src[p * 4 + 2]);
    }
  }
  return img;
}

// -- JPEG -------------------------------------------------------------------------------------------
//
// jpeg-js decodes the entropy-coded data and runs the IDCT, but then upsamples chroma by repeating
// samples and converts YCbCr with floating-point factors; libjpeg-turbo (behind PIL) interpolates
// chroma with a triangle filter ("fancy upsampling") and converts with 16-bit fixed-point tables.
// On a 4:2:0 photo with fine colour detail the two differ by up to ~100 levels. So jpeg-js is asked
// for the raw components (colorTransform false), the subsampled chroma planes are read back out of
// its repeated samples, and libjpeg-turbo's upsampling and conversion are redone here. What remains
// is the IDCT's rounding: a few levels.

/** What decodeJpeg needs from the headers: the frame's components and the colour transform. */
interface JpegHeader {
  /** Component ids and sampling factors, in frame order. */
  components: { id: number; h: number; v: number }[];
  /** The frame's size, from the start-of-frame segment. */
  size?: { width: number; height: number };
  /** Offset of the Adobe APP14 transform byte, and its value, when that segment is present. */
  adobeTransformAt?: number;
  adobeTransform?: number;
  jfif: boolean;
}

/** Walks the marker segments up to the first scan (SOS); undefined if they are malformed. */
function readJpegHeader(bytes: Uint8Array): JpegHeader | undefined {
  const header: JpegHeader = { components: [], jfif: false };
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return undefined;
    const marker = bytes[p + 1];
    if (marker === 0xff) {
      p += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2; // stand-alone markers carry no length
      continue;
    }
    const length = (bytes[p + 2] << 8) | bytes[p + 3];
    const body = p + 4;
    if (marker === 0xda) break; // start of scan: the frame header came before it
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof && body + 6 <= bytes.length) {
      header.size = { height: (bytes[body + 1] << 8) | bytes[body + 2], width: (bytes[body + 3] << 8) | bytes[body + 4] };
      const n = bytes[body + 5];
      for (let i = 0; i < n && body + 8 + 3 * i < bytes.length; i++) {
        const hv = bytes[body + 7 + 3 * i];
        header.components.push({ id: bytes[body + 6 + 3 * i], h: hv >> 4, v: hv & 15 });
      }
    }
    const tag = String.fromCharCode(...bytes.subarray(body, Math.min(body + 5, bytes.length)));
    if (marker === 0xe0 && tag === 'JFIF\0') header.jfif = true;
    if (marker === 0xee && tag === 'Adobe' && length >= 14) {
      header.adobeTransformAt = body + 11;
      header.adobeTransform = bytes[body + 11];
    }
    p += 2 + length;
  }
  return header;
}

/** libjpeg's colour space guess for 3 components: YCbCr unless Adobe says 0 or the ids spell RGB. */
function isYCbCr(header: JpegHeader): boolean {
  if (header.jfif) return true;
  if (header.adobeTransform !== undefined) return header.adobeTransform !== 0;
  const [a, b, c] = header.components.map((k) => k.id);
  return !(a === 82 && b === 71 && c === 66);
}

function decodeJpeg(bytes: Uint8Array, name: string): RgbImage {
  const header = readJpegHeader(bytes);
  const threeComponents = header !== undefined && header.components.length === 3;
  let input = bytes;
  if (threeComponents && header.adobeTransformAt !== undefined && header.adobeTransform !== 0) {
    // jpeg-js converts whenever Adobe's transform flag is set, whatever colorTransform says;
    // clear the flag in a copy so that it hands back raw YCbCr too.
    input = bytes.slice();
    input[header.adobeTransformAt] = 0;
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(input, { useTArray: true, formatAsRGBA: false, colorTransform: threeComponents ? false : undefined });
  } catch (e) {
    throw new ImageError(`${name}: cannot decode JPEG: ${(e as Error).message}`);
  }
  const img = { width: decoded.width, height: decoded.height, data: decoded.data };
  checkRgbImage(img, `${name}: JPEG decoder output`);
  if (threeComponents && isYCbCr(header)) {
    upsampleChroma(img, header.components);
    yccToRgb(img.data);
  }
  return img;
}

/**
 * Replaces the repeated chroma samples in `img` (Y, Cb, Cr interleaved) by libjpeg-turbo's fancy
 * upsampling of the same samples: a triangle filter, 3/4 of the nearer sample plus 1/4 of the
 * further one along each subsampled axis, edges repeated, with libjpeg's alternating rounding
 * biases. Handles 2x1, 1x2 and 2x2 subsampling (libjpeg repeats samples for the other ratios, as
 * jpeg-js already did, and for 2x1 and 2x2 chroma only 1 or 2 samples wide).
 */
function upsampleChroma(img: RgbImage, components: { h: number; v: number }[]): void {
  const { width, height, data } = img;
  const hMax = Math.max(...components.map((k) => k.h));
  const vMax = Math.max(...components.map((k) => k.v));
  if (components[0].h !== hMax || components[0].v !== vMax) return;
  for (let c = 1; c < 3; c++) {
    const fx = hMax / components[c].h;
    const fy = vMax / components[c].v;
    const cw = Math.ceil(width / fx);
    const ch = Math.ceil(height / fy);
    const fancy = (fx === 2 && fy <= 2 && cw > 2) || (fx === 1 && fy === 2);
    if (!fancy) continue;
    // The subsampled plane: jpeg-js repeated sample (i, j) over pixels (i*fx.., j*fy..).
    const plane = new Int32Array(cw * ch);
    for (let j = 0; j < ch; j++) {
      for (let i = 0; i < cw; i++) plane[j * cw + i] = data[(j * fy * width + i * fx) * 3 + c];
    }
    for (let y = 0; y < height; y++) {
      const r = fy === 2 ? y >> 1 : y;
      // Vertical neighbour: the row above for even output rows, below for odd ones (clamped).
      const rn = fy === 2 ? ((y & 1) === 0 ? Math.max(r - 1, 0) : Math.min(r + 1, ch - 1)) : r;
      const row = r * cw;
      const nrow = rn * cw;
      for (let x = 0; x < width; x++) {
        let v: number;
        if (fx === 1) {
          // h1v2: (3 * nearer + further + 1 or 2) / 4
          v = (3 * plane[row + x] + plane[nrow + x] + 1 + (y & 1)) >> 2;
        } else {
          const i = x >> 1;
          const i2 = (x & 1) === 0 ? Math.max(i - 1, 0) : Math.min(i + 1, cw - 1);
          if (fy === 1) {
            // h2v1: (3 * nearer + further + 1 or 2) / 4
            v = (3 * plane[row + i] + plane[row + i2] + 1 + (x & 1)) >> 2;
          } else {
            // h2v2: column sums 3 * nearer row + further row, then (3 * nearer + further + 8 or 7) / 16
            const near = 3 * plane[row + i] + plane[nrow + i];
            const far = 3 * plane[row + i2] + plane[nrow + i2];
            v = (3 * near + far + 8 - (x & 1)) >> 4;
          }
        }
        data[(y * width + x) * 3 + c] = v;
      }
    }
  }
}

/** libjpeg's fixed-point YCbCr -> RGB (16 fractional bits; FIX(x) = round(x * 2^16)). */
const YCC_TABLES = (() => {
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Float64Array(256);
  const cbG = new Float64Array(256);
  const fix = (x: number) => Math.trunc(x * 65536 + 0.5);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = Math.floor((fix(1.402) * x + 32768) / 65536);
    cbB[i] = Math.floor((fix(1.772) * x + 32768) / 65536);
    crG[i] = -fix(0.71414) * x;
    cbG[i] = -fix(0.34414) * x + 32768;
  }
  return { crR, cbB, crG, cbG };
})();

function yccToRgb(data: Uint8Array): void {
  const { crR, cbB, crG, cbG } = YCC_TABLES;
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let p = 0; p < data.length; p += 3) {
    const y = data[p];
    const cb = data[p + 1];
    const cr = data[p + 2];
    data[p] = clamp(y + crR[cr]);
    data[p + 1] = clamp(y + Math.floor((cbG[cb] + crG[cr]) / 65536));
    data[p + 2] = clamp(y + cbB[cb]);
  }
}

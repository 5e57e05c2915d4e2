/**
 * A strict JSON parser for safetensors headers.
 *
 * JSON.parse cannot be used alone for two reasons. It keeps the last of two equal keys without a
 * word, and a header with two entries of the same name is ambiguous (this project refuses it). And
 * it turns every number into a double, which cannot tell `1.0` or `1e0` (a float, refused by the
 * reference reader where a usize is expected) from `1`, nor hold offsets and shape entries above
 * 2^53 exactly, as the overflow checks need.
 *
 * So this parser keeps what the header checks need: objects as their list of [key, value] entries
 * in file order, duplicates included, with keys fully unescaped (so `"\u0061"` and `"a"` compare
 * equal); integers written without fraction or exponent as bigint; other numbers as number (`-0`
 * counts as a float, as in serde_json). The grammar is RFC 8259's, like serde_json's: whitespace is
 * space, tab, LF, CR; no trailing commas, comments, leading zeros, raw control characters or
 * unpaired surrogate escapes.
 */

export type JsonValue = null | boolean | string | bigint | number | JsonValue[] | JsonObject;

/** A JSON object as written: its entries in order, equal keys kept. */
export class JsonObject {
  constructor(readonly entries: Array<[string, JsonValue]>) {}
}

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

/** Deeper nesting than this is refused rather than risking the call stack (serde_json: 128). */
const MAX_DEPTH = 128;

/** "-" and the 20 digits of 2^64 - 1: longer integer literals cannot be a u64 or an i64. */
const MAX_INTEGER_CHARS = 21;

/**
 * Parses `text`. With `visitRootMember`, a root object's members are handed to it one at a time
 * and not kept (the object returned is empty): a 100 MB safetensors header of a million entries
 * is then interpreted entry by entry instead of being held twice, once as parsed JSON.
 */
export function parseStrictJson(text: string, visitRootMember?: (key: string, value: JsonValue) => void): JsonValue {
  const parser = new Parser(text);
  parser.skipWhitespace();
  const value = visitRootMember !== undefined && text.charCodeAt(parser.at) === 0x7b ? parser.object(1, visitRootMember) : parser.value(0);
  parser.skipWhitespace();
  if (parser.at < text.length) parser.fail('trailing characters after the JSON value');
  return value;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

class Parser {
  at = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new JsonSyntaxError(`${what} at character ${this.at}`);
  }

  skipWhitespace(): void {
    const text = this.text;
    let at = this.at;
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      at++;
    }
    this.at = at;
  }

  value(depth: number): JsonValue {
    const c = this.text.charCodeAt(this.at);
    if (c === 0x7b /* { */) return this.object(depth + 1);
    if (c === 0x5b /* [ */) return this.array(depth + 1);
    if (c === 0x22 /* " */) return this.string();
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.text.startsWith('true', this.at)) return this.literal(4, true);
    if (this.text.startsWith('false', this.at)) return this.literal(5, false);
    if (this.text.startsWith('null', this.at)) return this.literal(4, null);
    return this.fail(this.at >= this.text.length ? 'unexpected end of input' : 'expected a JSON value');
  }

  private literal<T>(length: number, value: T): T {
    this.at += length;
    return value;
  }

  /** An object; its members go to `visit` when given (and are not kept), else into the result. */
  object(depth: number, visit?: (key: string, value: JsonValue) => void): JsonObject {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.at++; // {
    const entries: Array<[string, JsonValue]> = [];
    const member = visit ?? ((key: string, value: JsonValue) => entries.push([key, value]));
    this.skipWhitespace();
    if (this.text.charCodeAt(this.at) === 0x7d /* } */) {
      this.at++;
      return new JsonObject(entries);
    }
    for (;;) {
      if (this.text.charCodeAt(this.at) !== 0x22) this.fail('expected a string key');
      const key = this.string();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.at) !== 0x3a /* : */) this.fail("expected ':'");
      this.at++;
      this.skipWhitespace();
      member(key, this.value(depth));
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.at);
      this.at++;
      if (next === 0x7d /* } */) return new JsonObject(entries);
      if (next !== 0x2c /* , */) {
        this.at--;
        this.fail("expected ',' or '}'");
      }
      this.skipWhitespace();
    }
  }

  private array(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.at++; // [
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.at) === 0x5d /* ] */) {
      this.at++;
      return items;
    }
    for (;;) {
      items.push(this.value(depth));
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.at);
      this.at++;
      if (next === 0x5d /* ] */) return items;
      if (next !== 0x2c /* , */) {
        this.at--;
        this.fail("expected ',' or ']'");
      }
      this.skipWhitespace();
    }
  }

  /** A string starting at the opening quote; escapes decoded. */
  private string(): string {
    const text = this.text;
    this.at++; // opening quote
    let out = '';
    let runStart = this.at;
    for (;;) {
      if (this.at >= text.length) this.fail('unterminated string');
      const c = text.charCodeAt(this.at);
      if (c === 0x22 /* " */) {
        out += text.slice(runStart, this.at);
        this.at++;
        return out;
      }
      if (c < 0x20) this.fail('control character in a string');
      if (c !== 0x5c /* \ */) {
        this.at++;
        continue;
      }
      out += text.slice(runStart, this.at);
      out += this.escape();
      runStart = this.at;
    }
  }

  /** One escape sequence starting at the backslash; a surrogate pair is two \u escapes. */
  private escape(): string {
    const kind = this.text[this.at + 1];
    this.at += 2;
    switch (kind) {
      case '"': return '"';
      case '\\': return '\\';
      case '/': return '/';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'u': {
        const unit = this.hex4();
        if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('unpaired low surrogate escape');
        if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
        if (this.text[this.at] !== '\\' || this.text[this.at + 1] !== 'u') this.fail('unpaired high surrogate escape');
        this.at += 2;
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) this.fail('unpaired high surrogate escape');
        return String.fromCharCode(unit, low);
      }
      default:
        this.at -= 2;
        return this.fail('invalid escape');
    }
  }

  private hex4(): number {
    const digits = this.text.slice(this.at, this.at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid \\u escape');
    this.at += 4;
    return parseInt(digits, 16);
  }

  /**
   * A number as the grammar -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? reads it, scanned by hand
   * (headers hold millions of them). Short integers are accumulated as they are scanned.
   */
  private number(): bigint | number {
    const text = this.text;
    const start = this.at;
    let at = start;
    if (text.charCodeAt(at) === 0x2d /* - */) at++;
    const digitsStart = at;
    if (text.charCodeAt(at) === 0x30 /* 0 */) at++;
    else if (isDigit(text.charCodeAt(at))) while (isDigit(text.charCodeAt(at))) at++;
    else this.fail('invalid number');
    const digitsEnd = at;
    let isInteger = true;
    if (text.charCodeAt(at) === 0x2e /* . */ && isDigit(text.charCodeAt(at + 1))) {
      at += 2;
      while (isDigit(text.charCodeAt(at))) at++;
      isInteger = false;
    }
    const e = text.charCodeAt(at);
    if (e === 0x65 || e === 0x45) {
      const sign = text.charCodeAt(at + 1) === 0x2b || text.charCodeAt(at + 1) === 0x2d ? 1 : 0;
      if (isDigit(text.charCodeAt(at + 1 + sign))) {
        at += 1 + sign;
        while (isDigit(text.charCodeAt(at))) at++;
        isInteger = false;
      }
    }
    this.at = at;
    const negative = digitsStart > start;
    if (isInteger && digitsEnd - digitsStart <= 15) {
      let v = 0;
      for (let i = digitsStart; i < digitsEnd; i++) v = v * 10 + (text.charCodeAt(i) - 0x30);
      if (negative && v === 0) return -0; // "-0" counts as a float, as in serde_json
      return BigInt(negative ? -v : v);
    }
    // Integers that fit in 64 bits are exact; longer ones are doubles, as serde_json reads them,
    // and a double that overflows is refused (a 99-million-digit integer would otherwise cost a
    // quadratic BigInt conversion).
    if (isInteger && at - start <= MAX_INTEGER_CHARS) return BigInt(text.slice(start, at));
    const value = Number(text.slice(start, at));
    if (!Number.isFinite(value)) this.fail('number out of range');
    return value;
  }
}

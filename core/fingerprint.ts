/**
 * The change fingerprints stored with every asset: one fast 64-bit hash over
 * a canonical encoding of the stored fields, computed in one pass.
 *
 * - `fileFingerprint` covers the file fields (path, parts, size, change
 *   marker): when it moves, the media itself changed and enrichers must look
 *   again.
 * - `fingerprint` continues the same pass over every other stored field, so it
 *   moves whenever anything stored moves, the file fields included.
 *
 * The encoding is canonical: each field becomes a type tag and, for text, its
 * length before its UTF-16 code units, so no two different field lists
 * encode alike. (The hash is fed the encoding field by field; it is never
 * built as one string.) The hash is two independent 32-bit multiply-xor lanes over
 * the encoding with a final avalanche; the file fingerprint is taken where
 * the file fields end; it detects change, it is not a
 * defence against a crafted collision (an importer that wants to hide a
 * change can simply not report it). It replaced three SHA-256 digests per
 * asset (schema migration 3 recomputes stored values), which cost ~9 µs per
 * asset against well under 1 µs.
 *
 * Lives in `core/` because both the ingest and the schema migration that
 * recomputes stored fingerprints use it.
 *
 * @module
 */

/** The fields an asset's fingerprints are computed from, as stored. */
export interface FingerprintFields {
  /** `movie` or `episode`. */
  kind: string;
  /** Title. */
  title: string;
  /** Show title. */
  seriesTitle: string | null;
  /** Season number. */
  season: number | null;
  /** Episode number. */
  episode: number | null;
  /** Last episode of a multi-episode file. */
  episodeEnd: number | null;
  /** Release year. */
  year: number | null;
  /** Air date. */
  airDate: string | null;
  /** Duration in milliseconds. */
  durationMs: number | null;
  /** Provider ids as canonical JSON. */
  externalIds: string;
  /** Upstream path of the first part. */
  path: string | null;
  /** Every part's path, as JSON. */
  parts: string;
  /** Local path through the path mappings. */
  localPath: string | null;
  /** Size in bytes. */
  size: number | null;
  /** Opaque upstream change marker. */
  modified: string | null;
  /**
   * Technical fields an importer reported, as canonical JSON. Hashed only
   * when present (not null), so an asset without them keeps the fingerprint
   * it had before the field existed: no spurious "changed" after upgrading.
   */
  tech?: string | null;
}

/** The two fingerprints of an asset, 16 hex digits each. */
export interface Fingerprints {
  /** Over every stored field: any difference means "changed". */
  fingerprint: string;
  /** Over the file fields: a difference means the media itself changed. */
  fileFingerprint: string;
}

/** Computes both fingerprints of an asset in one pass (see the module doc). */
export function fingerprintsOf(f: FingerprintFields): Fingerprints {
  const h: _Hash = { a: 0x811c9dc5, b: 0x2f6b1a3d };
  _text(h, f.path);
  _text(h, f.parts);
  _number(h, f.size);
  _text(h, f.modified);
  const fileFingerprint = _digest(h);
  _text(h, f.kind);
  _text(h, f.title);
  _text(h, f.seriesTitle);
  _number(h, f.season);
  _number(h, f.episode);
  _number(h, f.episodeEnd);
  _number(h, f.year);
  _text(h, f.airDate);
  _number(h, f.durationMs);
  _text(h, f.externalIds);
  _text(h, f.localPath);
  if (f.tech != null) _text(h, f.tech);
  return { fingerprint: _digest(h), fileFingerprint };
}

/**
 * The two lanes of the hash, fed the encoding piece by piece: building the
 * encoded text first cost more than hashing it (a concatenation to flatten,
 * then to collect, per asset). Tags, separators and digits are fed as char
 * codes, never as strings: a call and a string per piece (`String(n)`, the
 * length) made the fields' overhead ~1.5x what it is now. What is left is the
 * hash's own chain, ~6 cycles per code unit of text, which only a different
 * hash (and a migration) would shorten.
 */
interface _Hash {
  a: number;
  b: number;
}

/**
 * The lanes' multipliers. The step that feeds one code unit (lane a:
 * multiply; lane b: multiply, then fold its high bits down) is written out in
 * `_unit`, `_decimal` and `_feed` alike, as a call per code unit would cost
 * more than the step.
 */
const _MUL_A = 0x01000193;
const _MUL_B = 0x5bd1e995;

const _N = 0x6e; // "n": null
const _S = 0x73; // "s": text
const _D = 0x64; // "d": number
const _COLON = 0x3a; // ":" ends a text's length
const _SEMICOLON = 0x3b; // ";" ends a number
const _MINUS = 0x2d;
const _ZERO = 0x30;

/** Powers of ten up to 1e15, each exact. */
const _POW10: readonly number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * Below this, an integer's decimal digits are read off exactly with
 * `Math.floor(v / 10 ** j)` (the quotient cannot round up to the next
 * integer there); larger and fractional numbers are fed as `String(n)`,
 * which is what the encoding means by a number's text.
 */
const _EXACT_DIGITS = 1e15;

/** Feeds a field's canonical form: `n` (null) or `s<length>:<text>`; the length makes it unambiguous. */
function _text(h: _Hash, s: string | null): void {
  if (s === null) return _unit(h, _N);
  _unit(h, _S);
  _decimal(h, s.length);
  _unit(h, _COLON);
  _feed(h, s);
}

/** Feeds a number's canonical form: `n` (null) or `d<number>;`, the number as `String(n)` writes it. */
function _number(h: _Hash, n: number | null): void {
  if (n === null) return _unit(h, _N);
  _unit(h, _D);
  if (Number.isInteger(n) && n < _EXACT_DIGITS && n > -_EXACT_DIGITS) {
    // String(-0) is "0", as `n < 0` is false for it.
    if (n < 0) {
      _unit(h, _MINUS);
      _decimal(h, -n);
    } else {
      _decimal(h, n);
    }
  } else {
    // Fractions, 1e15 and beyond (exponent forms from 1e21), NaN: as String writes them.
    _feed(h, String(n));
  }
  _unit(h, _SEMICOLON);
}

/** Feeds one UTF-16 code unit. */
function _unit(h: _Hash, c: number): void {
  h.a = Math.imul(h.a ^ c, _MUL_A);
  const b = Math.imul(h.b ^ c, _MUL_B);
  h.b = b ^ (b >>> 15);
}

/**
 * Feeds the decimal digits of an integer `0 <= v < 1e15` (as `String(v)`
 * writes them) as char codes. Each digit's quotient is computed from `v`
 * alone, so the divisions do not wait on each other.
 */
function _decimal(h: _Hash, v: number): void {
  let a = h.a;
  let b = h.b;
  let k = 1;
  while (k < 15 && v >= _POW10[k]) k++;
  let upper = 0; // v / 10^(j+1), rounded down
  for (let j = k - 1; j >= 0; j--) {
    const q = Math.floor(v / _POW10[j]);
    const c = _ZERO + q - upper * 10;
    upper = q;
    a = Math.imul(a ^ c, _MUL_A);
    b = Math.imul(b ^ c, _MUL_B);
    b ^= b >>> 15;
  }
  h.a = a;
  h.b = b;
}

/** Feeds the UTF-16 code units of `s`. */
function _feed(h: _Hash, s: string): void {
  let a = h.a;
  let b = h.b;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, _MUL_A);
    b = Math.imul(b ^ c, _MUL_B);
    b ^= b >>> 15;
  }
  h.a = a;
  h.b = b;
}

function _digest({ a, b }: _Hash): string {
  // Cross the lanes, then avalanche each so every input bit reaches every output bit.
  return _hex(_mix(a ^ Math.imul(b, 0x9e3779b1))) + _hex(_mix(b ^ Math.imul(a, 0x85ebca77)));
}

function _mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const _BYTE_HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

function _hex(x: number): string {
  return _BYTE_HEX[x >>> 24] + _BYTE_HEX[(x >>> 16) & 255] + _BYTE_HEX[(x >>> 8) & 255] +
    _BYTE_HEX[x & 255];
}

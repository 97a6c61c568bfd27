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
 * The encoding is canonical without building a string: each field is fed as
 * a type tag, its length and its UTF-16 code units, so no two different
 * field lists feed the same sequence. The hash is two independent 32-bit
 * multiply-xor lanes with a final avalanche; it detects change, it is not a
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
  const h = { a: 0x811c9dc5, b: 0x2f6b1a3d };
  _text(h, f.path);
  _text(h, f.parts);
  _number(h, f.size);
  _text(h, f.modified);
  const fileFingerprint = _digest(h.a, h.b);
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
  return { fingerprint: _digest(h.a, h.b), fileFingerprint };
}

interface _State {
  a: number;
  b: number;
}

function _unit(h: _State, c: number): void {
  h.a = Math.imul(h.a ^ c, 0x01000193);
  h.b = Math.imul(h.b ^ c, 0x5bd1e995);
  h.b ^= h.b >>> 15;
}

function _text(h: _State, s: string | null): void {
  if (s === null) {
    _unit(h, 0x10000); // outside the UTF-16 range: cannot be a code unit
    return;
  }
  _unit(h, 0x10001);
  _unit(h, s.length);
  for (let i = 0; i < s.length; i++) _unit(h, s.charCodeAt(i));
}

function _number(h: _State, n: number | null): void {
  if (n === null) {
    _unit(h, 0x10000);
    return;
  }
  _unit(h, 0x10002);
  if (Number.isSafeInteger(n) && n >= 0 && n < 0x100000000) {
    _unit(h, n >>> 16);
    _unit(h, n & 0xffff);
    return;
  }
  _text(h, String(n));
}

function _digest(a: number, b: number): string {
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

function _hex(x: number): string {
  return x.toString(16).padStart(8, "0");
}

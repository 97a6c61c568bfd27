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
 * encode alike. The hash is two independent 32-bit multiply-xor lanes over
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
  const file = _text(f.path) + _text(f.parts) + _number(f.size) + _text(f.modified);
  const text = file + _text(f.kind) + _text(f.title) + _text(f.seriesTitle) +
    _number(f.season) + _number(f.episode) + _number(f.episodeEnd) + _number(f.year) +
    _text(f.airDate) + _number(f.durationMs) + _text(f.externalIds) + _text(f.localPath) +
    (f.tech == null ? "" : _text(f.tech));
  let a = 0x811c9dc5;
  let b = 0x2f6b1a3d;
  let fileFingerprint = "";
  for (let i = 0; i <= text.length; i++) {
    if (i === file.length) fileFingerprint = _digest(a, b);
    if (i === text.length) break;
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return { fingerprint: _digest(a, b), fileFingerprint };
}

/** A field's canonical form: `n` (null) or `s<length>:<text>`; the length makes it unambiguous. */
function _text(s: string | null): string {
  return s === null ? "n" : `s${s.length}:${s}`;
}

/** A number's canonical form: `n` (null) or `d<number>;`. */
function _number(n: number | null): string {
  return n === null ? "n" : `d${n};`;
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

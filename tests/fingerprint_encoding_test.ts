/**
 * `fingerprintsOf` feeds its hash the canonical encoding piece by piece;
 * stored fingerprints were computed over the encoding as one text. This
 * holds the two to the same values, so no stored asset ever shows as changed.
 */

import assert from "node:assert/strict";
import { type FingerprintFields, fingerprintsOf } from "../core/fingerprint.ts";

/** The module doc's definition, spelled out: the whole encoding first, then the hash over it. */
function _reference(f: FingerprintFields): { fingerprint: string; fileFingerprint: string } {
  const text = (s: string | null) => s === null ? "n" : `s${s.length}:${s}`;
  const num = (n: number | null) => n === null ? "n" : `d${n};`;
  const file = text(f.path) + text(f.parts) + num(f.size) + text(f.modified);
  const all = file + text(f.kind) + text(f.title) + text(f.seriesTitle) + num(f.season) +
    num(f.episode) + num(f.episodeEnd) + num(f.year) + text(f.airDate) + num(f.durationMs) +
    text(f.externalIds) + text(f.localPath) + (f.tech == null ? "" : text(f.tech));
  const hash = (s: string) => {
    let a = 0x811c9dc5;
    let b = 0x2f6b1a3d;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    const mix = (x: number) => {
      x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
      x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
      return ((x ^ (x >>> 16)) >>> 0).toString(16).padStart(8, "0");
    };
    return mix(a ^ Math.imul(b, 0x9e3779b1)) + mix(b ^ Math.imul(a, 0x85ebca77));
  };
  return { fingerprint: hash(all), fileFingerprint: hash(file) };
}

const TEXTS = [null, "", "n", "s3:abc", "d1;", "Amélie 🎬", "\ud800", "x".repeat(5000)];
const NUMBERS = [null, 0, -0, 1, -3, 1.5, 1e-7, 2 ** 53, 1e21, 123_456_789];

/**
 * Numbers around every boundary of the digit feeding (each digit count, the
 * exact-digits limit 1e15, the safe-integer limit, the exponent forms from
 * 1e21), fractions, negatives and the non-finite values.
 */
const EDGE_NUMBERS: (number | null)[] = [
  ...NUMBERS,
  ...Array.from({ length: 17 }, (_, i) => [10 ** i - 1, 10 ** i, 10 ** i + 1, -(10 ** i)]).flat(),
  1e15 - 1,
  -(1e15 - 1),
  1e15,
  -1e15,
  1e15 + 7,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 + 5,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  2 ** 53 + 2,
  1e20,
  1e21 - 65536,
  1e21,
  -1e21,
  1.2345e22,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  0.1,
  -0.5,
  123.456,
  1_320_000.25,
  NaN,
  Infinity,
  -Infinity,
];

Deno.test("fingerprints are the hash of the whole canonical encoding", () => {
  // A fixed-seed generator, so a failure repeats.
  let seed = 42;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed % n;
  };
  const text = () => next(3) === 0 ? `t${next(1000)}`.repeat(next(4)) : TEXTS[next(TEXTS.length)];
  const num = () => next(3) === 0 ? next(1e9) : NUMBERS[next(NUMBERS.length)];
  for (let i = 0; i < 5_000; i++) {
    const f: FingerprintFields = {
      kind: text() ?? "movie",
      title: text() ?? "",
      seriesTitle: text(),
      season: num(),
      episode: num(),
      episodeEnd: num(),
      year: num(),
      airDate: text(),
      durationMs: num(),
      externalIds: text() ?? "{}",
      path: text(),
      parts: text() ?? "[]",
      localPath: text(),
      size: num(),
      modified: text(),
      ...(next(3) === 0 ? {} : { tech: text() }),
    };
    assert.deepEqual(fingerprintsOf(f), _reference(f), Deno.inspect(f));
  }
});

Deno.test("numbers and text lengths of every size hash as their decimal text", () => {
  let seed = 7;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed % n;
  };
  // An integer of 1 to 16 digits, or a fraction of one, of either sign.
  const randomNumber = () => {
    const digits = 1 + next(16);
    let n = next(9) + 1;
    for (let i = 1; i < digits; i++) n = n * 10 + next(10);
    if (next(4) === 0) n /= 10 ** next(6);
    return next(5) === 0 ? -n : n;
  };
  const lengths = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 9999, 10_000, 100_000];
  for (let i = 0; i < 5_000; i++) {
    const num = () =>
      i < EDGE_NUMBERS.length * 3 ? EDGE_NUMBERS[next(EDGE_NUMBERS.length)] : randomNumber();
    const f: FingerprintFields = {
      kind: "episode",
      title: "é".repeat(lengths[next(lengths.length)]),
      seriesTitle: next(2) ? null : "🎬".repeat(next(60)),
      season: num(),
      episode: num(),
      episodeEnd: num(),
      year: num(),
      airDate: null,
      durationMs: num(),
      externalIds: "{}",
      path: "p".repeat(lengths[next(lengths.length)]),
      parts: "[]",
      localPath: null,
      size: num(),
      modified: next(2) ? null : "",
      tech: next(2) ? null : "t".repeat(next(1200)),
    };
    assert.deepEqual(fingerprintsOf(f), _reference(f), Deno.inspect(f));
  }
  for (const n of EDGE_NUMBERS) {
    const f: FingerprintFields = {
      kind: "movie",
      title: "",
      seriesTitle: null,
      season: n,
      episode: null,
      episodeEnd: null,
      year: null,
      airDate: null,
      durationMs: n,
      externalIds: "{}",
      path: null,
      parts: "[]",
      localPath: null,
      size: n,
      modified: null,
    };
    assert.deepEqual(fingerprintsOf(f), _reference(f), String(n));
  }
});

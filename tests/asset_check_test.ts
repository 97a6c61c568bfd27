import assert from "node:assert/strict";
import { importedAssetSchema } from "../core/schemas.ts";
import { checkImportedAsset } from "../ingest/asset_check.ts";
import { techJson } from "../ingest/normalize.ts";

const TECH = {
  container: "mkv",
  bitrate: 4_000_000,
  video: {
    codec: "h264",
    profile: "high",
    width: 1920,
    height: 1080,
    frameRate: 23.976,
    scanType: "progressive",
    hdr: "sdr",
  },
  audio: [{ codec: "aac", channels: 2, language: "eng", default: true }],
  subtitles: [{ codec: "srt", language: "eng", forced: false, external: true }],
};

const BASES: Record<string, unknown>[] = [
  { externalId: "m1", kind: "movie", title: "Alien", year: 1979 },
  {
    externalId: "e1",
    kind: "episode",
    title: "Pilot",
    seriesTitle: "Show",
    season: 1,
    episode: 1,
    episodeEnd: 2,
    airDate: "2001-02-03",
    durationMs: 1_320_000,
    externalIds: { tvdb: "123", plex: "plex://episode/1" },
    path: "/tv/Show/S01E01.mkv",
    parts: ["/tv/Show/S01E01.mkv"],
    size: 700_000_000,
    modified: "1700000000 parts=1:2",
    tech: TECH,
  },
];

const LONG = (n: number) => "x".repeat(n);

/** Edge values tried in every field of every base item. */
const VALUES: unknown[] = [
  undefined,
  null,
  "",
  " ",
  "x",
  "movie",
  "episode",
  "2001-02-03",
  "2001-2-3",
  "2001-02-03\n",
  LONG(64),
  LONG(65),
  LONG(100),
  LONG(101),
  LONG(500),
  LONG(501),
  LONG(1000),
  LONG(1001),
  LONG(4096),
  LONG(4097),
  -1,
  -0,
  0,
  1,
  1.5,
  64,
  65,
  1799,
  1800,
  3000,
  3001,
  100_000,
  100_001,
  1e9,
  1e9 + 1,
  1e12,
  1e12 + 1,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  2 ** 53 + 2,
  // Text SQLite would read back cut at the NUL, or with a lone surrogate half replaced.
  "a\0b",
  ["a", "b\0"],
  "c\ud800",
  ["\udfffd"],
  2 ** 40 + 0.5,
  NaN,
  Infinity,
  true,
  false,
  {},
  [],
  ["a"],
  [1],
  Array(101).fill("p"),
  [LONG(4097)],
  // deno-lint-ignore no-sparse-arrays
  [, "a"],
  "2001-02-03",
  "2001-2-03",
  "2001-02-033",
  "20010-02-03",
  "2001/02/03",
  "2001-02-0a",
  "2001-02-0:",
  "/001-02-03",
  "2001-02-03\n",
  "\uff12001-02-03",
  "0000-00-00",
  { tvdb: "1" },
  { Tvdb: "1" },
  { a_1: "1", z9: "2" },
  { [LONG(40).toLowerCase()]: "1" },
  { "": "1" },
  { "tv-db": "1" },
  { "tvdb\n": "1" },
  { "é": "1" },
  { [LONG(41)]: "1" },
  { tvdb: LONG(501) },
  { tvdb: 1 },
  JSON.parse('{"__proto__": "x"}'),
  JSON.parse('{"__proto__": 1}'),
  { constructor: "x" },
  { [Symbol("s")]: "1" },
  Object.create(null),
  Object.assign(Object.create(null), { tvdb: "1" }),
  new Date(0),
  TECH,
  { video: null, audio: [], subtitles: [] },
];

/** Values tried in every field of the technical fields, and of their nested objects. */
const TECH_PATHS: string[][] = [
  ...Object.keys(TECH).map((k) => [k]),
  ...Object.keys(TECH.video).map((k) => ["video", k]),
  ...Object.keys(TECH.audio[0]).map((k) => ["audio", "0", k]),
  ...Object.keys(TECH.subtitles[0]).map((k) => ["subtitles", "0", k]),
  ["audio", "0"],
  ["subtitles", "0"],
];

function _with(base: Record<string, unknown>, path: string[], value: unknown) {
  const copy = structuredClone(base) as Record<string, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = path[path.length - 1];
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

function* _candidates(): Generator<unknown> {
  yield null;
  yield "asset";
  yield [BASES[0]];
  for (const base of BASES) {
    yield base;
    for (const key of Object.keys(importedAssetSchema.shape)) {
      for (const value of VALUES) yield _with(base, [key], value);
    }
    if (base.tech === undefined) continue;
    for (const path of TECH_PATHS) {
      for (const value of VALUES) yield _with(base, ["tech", ...path], value);
    }
  }
  // The refinements: titles, series titles and episode ranges.
  yield _with(BASES[0], ["title"], "  ");
  yield _with(BASES[1], ["seriesTitle"], " \t ");
  yield _with(BASES[1], ["episodeEnd"], 0);
  yield _with(_with(BASES[1], ["episode"], undefined), ["episodeEnd"], 3);
}

/** The validated fields, comparable: absent and undefined alike, `tech` as stored. */
function _comparable(a: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined || k === "tech") continue;
    out[k] = v;
  }
  out.tech = techJson(a.tech as Parameters<typeof techJson>[0]);
  return out;
}

/** Provider ids the fast path leaves to zod: a null prototype, a `__proto__` key. */
function _exoticIds(raw: unknown): boolean {
  const ids = (raw as { externalIds?: object }).externalIds;
  return typeof ids === "object" && ids !== null &&
    (Object.getPrototypeOf(ids) === null || Object.hasOwn(ids, "__proto__"));
}

Deno.test("the hand-written asset check accepts exactly what the schema accepts, with the same fields", () => {
  let valid = 0;
  for (const raw of _candidates()) {
    const fast = checkImportedAsset(raw);
    const zod = importedAssetSchema.safeParse(raw);
    if (zod.success) valid++;
    if (fast === undefined) {
      // Left to zod: only the invalid, and the valid whose provider ids are exotic.
      assert.ok(!zod.success || _exoticIds(raw), `left a valid item to zod: ${Deno.inspect(raw)}`);
      continue;
    }
    assert.ok(zod.success, `accepted what the schema rejects: ${Deno.inspect(raw)}`);
    assert.deepEqual(_comparable(fast), _comparable(zod.data), Deno.inspect(raw));
  }
  assert.ok(valid > 100, `only ${valid} valid candidates`);
});

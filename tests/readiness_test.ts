/**
 * Server-reported technical fields through the ingest (`normalize.ts`,
 * `apply.ts`), and readiness (`ingest/readiness.ts`): the state each asset
 * is in, the `--state` filter and the per-state counts, in the library and
 * through the CLI.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { TechnicalMetadata } from "../core/contract.ts";
import { openDatabase } from "../core/db.ts";
import { fingerprintsOf } from "../core/fingerprint.ts";
import { getAsset, listAssets } from "../ingest/assets_query.ts";
import { normalizeAsset, techJson } from "../ingest/normalize.ts";
import { ingestCollection } from "../ingest/pipeline.ts";
import {
  countReadiness,
  MISSING_FILE_PREFIX,
  parseReadiness,
  READINESS_STATES,
  readinessJson,
  readinessText,
} from "../ingest/readiness.ts";
import { RetrovueError } from "../core/errors.ts";
import { runCli } from "./_cli.ts";
import { itemsClient, seededCatalog } from "./_catalog.ts";

const TECH: TechnicalMetadata = {
  container: "MKV",
  bitrate: 8_000_000.4,
  video: {
    codec: "h264",
    profile: "High",
    width: 1920,
    height: 1080,
    frameRate: 23.9760239,
    scanType: "progressive",
    hdr: "sdr",
  },
  audio: [{ codec: "AAC", channels: 2, language: "eng", default: true }],
};

const _client = itemsClient;

function _catalog(): DatabaseSync {
  return seededCatalog({ kind: "movies" });
}

function _movie(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { externalId: id, kind: "movie", title: `Movie ${id}`, path: `/m/${id}.mkv`, ...extra };
}

/** The enrichment columns of the asset with external id `externalId`. */
function _enrichment(db: DatabaseSync, externalId: string): Record<string, unknown> {
  return db.prepare(
    `SELECT tech, tech_source, enriched_file_fingerprint = file_fingerprint AS current,
       enriched_file_fingerprint, enrichment_error, enriched_at, probed_duration_ms
     FROM assets WHERE external_id = ?`,
  ).get(externalId) as Record<string, unknown>;
}

Deno.test("tech: stored as canonical JSON; empty is none; bounds are enforced", () => {
  const json = techJson(TECH)!;
  assert.deepEqual(JSON.parse(json), {
    container: "mkv",
    bitrate: 8_000_000,
    video: {
      codec: "h264",
      profile: "High",
      width: 1920,
      height: 1080,
      frameRate: 23.976,
      scanType: "progressive",
      hdr: "sdr",
    },
    audio: [{ codec: "aac", channels: 2, language: "eng", default: true }],
    subtitles: [],
  });
  // Key order and absent-vs-default do not change the text.
  const reordered = {
    audio: [{ default: true, language: "eng", channels: 2, codec: "aac" }],
    video: { ...TECH.video, hdr: "sdr" as const },
    bitrate: 8_000_000,
    container: "mkv",
    subtitles: [],
  };
  assert.equal(techJson(reordered), json);
  assert.equal(techJson({}), null);
  assert.equal(techJson({ video: { codec: " " } as never, audio: [] }), null);
  const many = normalizeAsset(
    _movie("1", { tech: { audio: Array.from({ length: 65 }, () => ({ codec: "aac" })) } }),
    [],
  );
  assert.equal(many.ok, false);
  assert.match(many.ok ? "" : many.reason, /^tech\.audio/);
  const long = normalizeAsset(_movie("1", { tech: { container: "x".repeat(65) } }), []);
  assert.equal(long.ok, false);
});

Deno.test("tech: enters the fingerprint only when present, and not the file fingerprint", () => {
  const fields = {
    kind: "movie",
    title: "T",
    seriesTitle: null,
    season: null,
    episode: null,
    episodeEnd: null,
    year: null,
    airDate: null,
    durationMs: 1,
    externalIds: "{}",
    path: "/m/t.mkv",
    parts: "[]",
    localPath: "/m/t.mkv",
    size: 1,
    modified: null,
  };
  const without = fingerprintsOf(fields);
  assert.deepEqual(fingerprintsOf({ ...fields, tech: null }), without, "null is as if absent");
  const withTech = fingerprintsOf({ ...fields, tech: techJson(TECH) });
  assert.notEqual(withTech.fingerprint, without.fingerprint);
  assert.equal(withTech.fileFingerprint, without.fileFingerprint);
});

Deno.test("ingest: server tech with a duration needs no probe; without one it still does", async () => {
  const db = _catalog();
  const run = (fullTech: TechnicalMetadata) =>
    ingestCollection(db, {
      client: _client([
        _movie("full", { durationMs: 60_000, tech: fullTech }),
        _movie("noduration", { tech: TECH }),
        _movie("bare"),
      ]),
      collection: "c-1",
    });
  await run(TECH);
  const full = _enrichment(db, "full");
  assert.equal(full.tech, techJson(TECH));
  assert.equal(full.tech_source, "server");
  assert.equal(full.current, 1, "enriched for its current file");
  assert.notEqual(full.enriched_at, null);
  const partial = _enrichment(db, "noduration");
  assert.equal(partial.tech_source, "server");
  assert.equal(partial.enriched_file_fingerprint, null, "still to be probed for a duration");
  const bare = _enrichment(db, "bare");
  assert.deepEqual([bare.tech, bare.tech_source, bare.enriched_file_fingerprint], [
    null,
    null,
    null,
  ]);
  const again = await run(TECH);
  assert.equal(again.stats.unchanged, 3, "canonical tech is stable across runs");
  const third = await run({ ...TECH, container: "mp4" });
  assert.equal(third.stats.changed, 1, "a tech change is a change");
  assert.equal(JSON.parse(String(_enrichment(db, "full").tech)).container, "mp4");
});

Deno.test("ingest: never wipes an enricher's result; server tech goes when the server stops", async () => {
  const db = _catalog();
  const run = (items: unknown[]) =>
    ingestCollection(db, { client: _client(items), collection: "c-1" });
  await run([_movie("probed"), _movie("server", { durationMs: 5000, tech: TECH })]);
  // An enricher's result for the current file, as the enrichment runner writes it.
  db.prepare(
    `UPDATE assets SET tech = '{"container":"mkv"}', tech_source = 'ffprobe',
       probed_duration_ms = 4000, enriched_file_fingerprint = file_fingerprint
     WHERE external_id = 'probed'`,
  ).run();
  // A metadata-only change (new title) and the server no longer reporting tech.
  const r = await run([
    _movie("probed", { title: "Renamed" }),
    _movie("server", { durationMs: 5000 }),
  ]);
  assert.equal(r.stats.changed, 2);
  const probed = _enrichment(db, "probed");
  assert.deepEqual(
    [probed.tech, probed.tech_source, probed.probed_duration_ms, probed.current],
    ['{"container":"mkv"}', "ffprobe", 4000, 1],
    "the probe of the unchanged file is kept",
  );
  // Server tech reported for a file an enricher already probed: the probe is kept too.
  await run([
    _movie("probed", { title: "Renamed", tech: TECH }),
    _movie("server", { durationMs: 5000 }),
  ]);
  assert.equal(_enrichment(db, "probed").tech_source, "ffprobe");
  const server = _enrichment(db, "server");
  assert.deepEqual(
    [server.tech, server.tech_source, server.enriched_file_fingerprint, server.enriched_at],
    [null, null, null, null],
    "server tech cleared: the asset is to be enriched again",
  );
  // The file changed under the probe: server tech now wins.
  await run([
    _movie("probed", { title: "Renamed", tech: TECH, size: 99, durationMs: 1000 }),
    _movie("server", { durationMs: 5000 }),
  ]);
  const swapped = _enrichment(db, "probed");
  assert.deepEqual([swapped.tech_source, swapped.current], ["server", 1]);
});

Deno.test("readiness: each state, the --state filter and the counts", async () => {
  const db = _catalog();
  await ingestCollection(db, {
    client: _client([
      _movie("a-ready", { durationMs: 1000 }),
      _movie("b-zero", { durationMs: 0 }),
      _movie("c-probed"),
      _movie("d-failed"),
      _movie("e-missing", { durationMs: 1000 }),
      { externalId: "f-nopath", kind: "movie", title: "No path", durationMs: 1000 },
      _movie("g-stale"),
    ]),
    collection: "c-1",
  });
  const set = (id: string, sql: string) =>
    db.prepare(`UPDATE assets SET ${sql} WHERE external_id = ?`).run(id);
  set("c-probed", "probed_duration_ms = 2000, enriched_file_fingerprint = file_fingerprint");
  set(
    "d-failed",
    "enrichment_error = 'corrupt file', enriched_file_fingerprint = file_fingerprint",
  );
  set("e-missing", `enrichment_error = '${MISSING_FILE_PREFIX} /m/e-missing.mkv'`);
  // A failure recorded for an earlier version of the file no longer counts.
  set("g-stale", "enrichment_error = 'corrupt file', enriched_file_fingerprint = 'old'");
  const states: Record<string, [string, string | null]> = Object.fromEntries(
    listAssets(db, { collectionId: "c-1" }).assets.map((a) => [a.externalId, [
      a.state,
      a.stateReason,
    ]]),
  );
  assert.deepEqual(states, {
    "a-ready": ["ready", null],
    "b-zero": ["needs_enrichment", null],
    "c-probed": ["ready", null],
    "d-failed": ["enrichment_failed", "corrupt file"],
    "e-missing": ["missing_file", "file not found: /m/e-missing.mkv"],
    "f-nopath": ["missing_file", "the importer reported no file"],
    "g-stale": ["needs_enrichment", null],
  });
  for (const state of READINESS_STATES) {
    const listed = listAssets(db, { collectionId: "c-1", state });
    assert.deepEqual(
      listed.assets.map((a) => a.externalId),
      Object.keys(states).filter((id) => states[id][0] === state),
      state,
    );
    assert.equal(listed.total, listed.assets.length);
  }
  const counts = countReadiness(db, "c-1");
  assert.deepEqual(counts, {
    ready: 2,
    needs_enrichment: 2,
    enrichment_failed: 1,
    missing_file: 2,
  });
  assert.deepEqual(readinessJson(counts), {
    ready: 2,
    needsEnrichment: 2,
    enrichmentFailed: 1,
    missingFile: 2,
  });
  assert.equal(
    readinessText(counts),
    "2 ready, 2 needs_enrichment, 1 enrichment_failed, 2 missing_file",
  );
  // Soft-deleted assets are not counted.
  set("a-ready", "deleted_at = '2024-01-02T00:00:00.000Z'");
  assert.equal(countReadiness(db, "c-1").ready, 1);
  assert.equal(readinessText(countReadiness(db, "c-0")), "-");
});

Deno.test("readiness: a record carries the technical fields as an object", async () => {
  const db = _catalog();
  await ingestCollection(db, {
    client: _client([_movie("t", { durationMs: 1000, tech: TECH })]),
    collection: "c-1",
  });
  const id = String((db.prepare("SELECT id FROM assets").get() as { id: string }).id);
  const a = getAsset(db, id)!;
  assert.equal(a.techSource, "server");
  assert.equal(a.tech?.video?.width, 1920);
  assert.equal(a.tech?.container, "mkv");
  assert.equal(a.state, "ready");
});

Deno.test("readiness: an unknown --state is a usage error listing the valid ones", () => {
  assert.equal(parseReadiness(" ready "), "ready");
  assert.throws(
    () => parseReadiness("new"),
    (e: unknown) =>
      e instanceof RetrovueError && e.code === "USAGE" &&
      e.message === "unknown state 'new'; use one of: " +
          "ready, needs_enrichment, enrichment_failed, missing_file",
  );
});

Deno.test("cli: asset list --state, asset show's technical fields, collection show's counts", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-readiness-" });
  try {
    const movies = join(dir, "movies");
    for (const name of ["Alpha (2001)", "Beta (2002)"]) {
      Deno.mkdirSync(join(movies, name), { recursive: true });
      Deno.writeFileSync(join(movies, name, `${name}.mkv`), new Uint8Array());
    }
    const options = { db: join(dir, "catalog.db"), dataHome: join(dir, "xdg") };
    const cli = async (...args: string[]) => {
      const r = await runCli(args, options);
      return { ...r, json: () => JSON.parse(r.stdout) };
    };
    for (
      const args of [
        ["source", "add", "--type", "filesystem", "--name", "T", "--root", `Movies=${movies}`],
        ["source", "discover", "T"],
        ["collection", "update", "Movies", "--sync-enable"],
        ["collection", "ingest", "Movies"],
      ]
    ) {
      const r = await cli(...args);
      assert.ok(r.code === 0 || r.code === 2, `${args.join(" ")}: ${r.stderr}`);
    }
    // What an enricher would have recorded: one probed, one failed.
    const db = openDatabase(options.db);
    try {
      db.prepare(
        `UPDATE assets SET tech = ?, tech_source = 'ffprobe', probed_duration_ms = 61000,
           enriched_file_fingerprint = file_fingerprint, enrichment_error = NULL
         WHERE title = 'Alpha'`,
      ).run(techJson(TECH));
      db.prepare(
        `UPDATE assets SET tech = NULL, probed_duration_ms = NULL, tech_source = NULL,
           enriched_file_fingerprint = file_fingerprint,
           enrichment_error = 'MEDIA_INVALID: truncated'
         WHERE title = 'Beta'`,
      ).run();
    } finally {
      db.close();
    }
    const ready = await cli("asset", "list", "--state", "ready", "--json");
    assert.equal(ready.code, 0, ready.stderr);
    assert.deepEqual(ready.json().assets.map((a: { title: string }) => a.title), ["Alpha"]);
    const bad = await cli("asset", "list", "--state", "new");
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr.trim(),
      "Error: unknown state 'new'; use one of: ready, needs_enrichment, enrichment_failed, " +
        "missing_file",
    );
    const show = await cli("collection", "show", "Movies", "--json");
    assert.deepEqual(show.json().collection.readiness, {
      ready: 1,
      needsEnrichment: 0,
      enrichmentFailed: 1,
      missingFile: 0,
    });
    assert.match(
      (await cli("collection", "show", "Movies")).stdout,
      /^readiness: +1 ready, 1 enrichment_failed$/m,
    );
    const id = ready.json().assets[0].id;
    const alpha = (await cli("asset", "show", id)).stdout;
    assert.match(alpha, /^duration: +1:01 \(probed\)$/m);
    assert.match(alpha, /^state: +ready$/m);
    assert.match(alpha, /^container: +mkv · 8\.0 Mbit\/s$/m);
    assert.match(alpha, /^video: +h264 \(High\) 1920x1080 23\.976 fps progressive sdr$/m);
    assert.match(alpha, /^audio: +aac 2ch eng default$/m);
    assert.match(alpha, /^tech from: +ffprobe$/m);
    const failed = await cli("asset", "list", "--state", "enrichment_failed", "--json");
    const beta = (await cli("asset", "show", failed.json().assets[0].id)).stdout;
    assert.match(beta, /^state: +enrichment_failed: MEDIA_INVALID: truncated$/m);
    assert.doesNotMatch(beta, /^video:/m, "no technical fields known");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

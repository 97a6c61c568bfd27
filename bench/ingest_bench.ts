/**
 * Ingest benchmark: 100k synthetic episodes through the pipeline (full
 * ingest, unchanged re-run, 1% changed, one targeted season, and the full
 * ingest again with a source secret to look for in every asset), against a floor
 * measured in the same run: plain prepared inserts of the same rows into the
 * same table in one transaction (timed from BEGIN to COMMIT; the rows are
 * prepared before the clock starts, and held in memory like the pipeline's).
 *
 * Each scenario runs in a fresh Deno subprocess so that its peak memory
 * (RSS, sampled every 5 ms and after each phase) is its own. The importer is
 * an in-process fake yielding batches of 1000 (the registry's batch size);
 * the sandbox and RPC overhead is benchmarked separately. The targeted
 * scenario uses host-side filtering (the fake declares no filters), the worst
 * case: all 100k items are streamed and validated, 100 match.
 *
 * Run: `deno run --no-prompt --allow-read --allow-write --allow-run --allow-env bench/ingest_bench.ts`
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { openDatabase } from "../core/db.ts";
import { assetId, normalizeAsset } from "../ingest/normalize.ts";
import { type IngestClient, ingestCollection } from "../ingest/pipeline.ts";

const SERIES = 100;
const SEASONS = 10;
const EPISODES = 100;
const TOTAL = SERIES * SEASONS * EPISODES;
const BATCH = 1000;
const SOURCE_ID = "bench-00000001";
const COLLECTION_ID = "c-bench00001";

type Scenario = "floor" | "full" | "unchanged" | "changed" | "season" | "secret";

/** A Plex-like token: with it, every asset is checked for its every form. */
const SECRET = "xyzAB12cd34EF56gh78i";

interface ChildReport {
  scenario: Scenario;
  ms: number;
  peakRssMb: number;
  detail: string;
}

/**
 * Runs every scenario in its own subprocess and prints times, peak memory
 * and their ratios to the floor.
 */
export async function runIngestBench(): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-ingest-bench-" });
  try {
    const seed = `${dir}/seed.db`;
    const reports: ChildReport[] = [];
    reports.push(await _spawn("floor", `${dir}/floor.db`));
    reports.push(await _spawn("full", seed));
    for (const scenario of ["unchanged", "changed", "season"] as const) {
      const copy = `${dir}/${scenario}.db`;
      Deno.copyFileSync(seed, copy);
      reports.push(await _spawn(scenario, copy));
    }
    reports.push(await _spawn("secret", `${dir}/secret.db`));
    const floor = reports[0];
    console.log(`ingest bench: ${TOTAL} assets, batches of ${BATCH}`);
    console.log(
      "scenario".padEnd(11) + "time ms".padStart(9) + "  x floor" + "  peak RSS MB" +
        "  x floor  detail",
    );
    for (const r of reports) {
      console.log(
        r.scenario.padEnd(11) + r.ms.toFixed(0).padStart(9) +
          (r.ms / floor.ms).toFixed(2).padStart(9) + r.peakRssMb.toFixed(0).padStart(13) +
          (r.peakRssMb / floor.peakRssMb).toFixed(2).padStart(9) + "  " + r.detail,
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

async function _spawn(scenario: Scenario, dbPath: string): Promise<ChildReport> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-write",
      new URL(import.meta.url).pathname,
      "--child",
      scenario,
      dbPath,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    throw new Error(
      `bench scenario ${scenario} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return JSON.parse(text.split("\n").at(-1)!) as ChildReport;
}

function _episode(i: number, variant: number): Record<string, unknown> {
  const series = Math.floor(i / (SEASONS * EPISODES));
  const season = Math.floor(i / EPISODES) % SEASONS + 1;
  const episode = i % EPISODES + 1;
  const name = `Show ${String(series).padStart(3, "0")}`;
  return {
    externalId: `ep-${i}`,
    kind: "episode",
    title: variant && i % 100 === 0 ? `Episode ${episode} (new cut)` : `Episode ${episode}`,
    seriesTitle: name,
    season,
    episode,
    year: 1990 + series % 30,
    durationMs: 1_320_000 + episode * 1000,
    externalIds: { tvdb: String(1_000_000 + i) },
    path: `/data/tv/${name}/Season ${season}/${name} - s${season}e${episode}.mkv`,
    size: 700_000_000 + i,
    modified: `2023-01-01T00:00:${String(i % 60).padStart(2, "0")}Z`,
  };
}

function _client(variant: number): IngestClient {
  return {
    manifest: { typeId: "bench", displayName: "Bench", params: [], capabilities: { filters: {} } },
    async *fetchAssets() {
      for (let start = 0; start < TOTAL; start += BATCH) {
        const batch: unknown[] = [];
        for (let i = start; i < start + BATCH; i++) batch.push(_episode(i, variant));
        await Promise.resolve();
        yield batch;
      }
    },
  };
}

function _prepare(db: DatabaseSync): void {
  const t = "2024-01-01T00:00:00.000Z";
  if (db.prepare("SELECT 1 FROM sources WHERE id = ?").get(SOURCE_ID)) return;
  db.prepare(
    "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES (?, 'Bench', 'bench', '{}', ?, ?)",
  ).run(SOURCE_ID, t, t);
  db.prepare(
    `INSERT INTO collections (id, source_id, external_id, name, kind, sync_enabled, created_at, updated_at)
     VALUES (?, ?, 'tv', 'TV', 'shows', 1, ?, ?)`,
  ).run(COLLECTION_ID, SOURCE_ID, t, t);
  db.prepare(
    "INSERT INTO path_mappings (collection_id, external_prefix, local_prefix) VALUES (?, '/data/tv', '/mnt/tv')",
  ).run(COLLECTION_ID);
}

/**
 * The floor: the very rows the pipeline stores (same ids, values and
 * fingerprints, prepared before the clock starts), inserted with one
 * prepared statement in one `BEGIN IMMEDIATE` transaction.
 */
function _floorRows(): (string | number | null)[][] {
  const now = "2024-01-02T00:00:00.000Z";
  const mappings = [{ externalPrefix: "/data/tv", localPrefix: "/mnt/tv" }];
  const rows: (string | number | null)[][] = [];
  for (let i = 0; i < TOTAL; i++) {
    const n = normalizeAsset(_episode(i, 0), mappings);
    if (!n.ok) throw new Error(n.reason);
    const a = n.asset;
    rows.push([
      assetId(COLLECTION_ID, a.externalId),
      COLLECTION_ID,
      a.externalId,
      a.kind,
      a.title,
      a.seriesTitle,
      a.season,
      a.episode,
      a.episodeEnd,
      a.year,
      a.airDate,
      a.durationMs,
      a.externalIds,
      a.path,
      a.parts,
      a.localPath,
      a.size,
      a.modified,
      a.fingerprint,
      a.fileFingerprint,
      now,
      now,
      now,
    ]);
  }
  rows.sort((x, y) => (x[2] as string) < (y[2] as string) ? -1 : 1);
  return rows;
}

function _floor(db: DatabaseSync, rows: (string | number | null)[][]): string {
  const insert = db.prepare(
    `INSERT INTO assets (id, collection_id, external_id, kind, title, series_title, season,
      episode, episode_end, year, air_date, duration_ms, external_ids, path, parts, local_path,
      size, modified, fingerprint, file_fingerprint, first_seen, last_seen, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.exec("BEGIN IMMEDIATE");
  for (const row of rows) insert.run(...row);
  db.exec("COMMIT");
  return `${rows.length} prepared rows inserted`;
}

async function _child(scenario: Scenario, dbPath: string): Promise<void> {
  const db = openDatabase(dbPath);
  _prepare(db);
  let peak = Deno.memoryUsage().rss;
  const sample = () => {
    peak = Math.max(peak, Deno.memoryUsage().rss);
  };
  const rows = scenario === "floor" ? _floorRows() : [];
  const timer = setInterval(sample, 5);
  const started = performance.now();
  let detail: string;
  if (scenario === "floor") {
    detail = _floor(db, rows);
  } else {
    const result = await ingestCollection(db, {
      client: _client(scenario === "changed" ? 1 : 0),
      collection: COLLECTION_ID,
      filters: scenario === "season" ? { title: "show 042", season: 3 } : {},
      onProgress: sample,
      secrets: scenario === "secret" ? [SECRET] : [],
    });
    const s = result.stats;
    detail =
      `new ${s.new}, changed ${s.changed}, unchanged ${s.unchanged}, removed ${s.removed}, invalid ${s.invalid}`;
  }
  sample();
  const ms = performance.now() - started;
  clearInterval(timer);
  db.close();
  const report: ChildReport = { scenario, ms, peakRssMb: peak / 2 ** 20, detail };
  console.log(JSON.stringify(report));
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") {
    await _child(Deno.args[1] as Scenario, Deno.args[2]);
  } else {
    await runIngestBench();
  }
}

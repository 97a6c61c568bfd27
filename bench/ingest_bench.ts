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
 * Then the cost of keeping identity across re-keying (`ingest/rekey.ts`),
 * interleaved and repeated ({@link REKEY_REPEATS} rounds, each scenario on
 * a fresh copy of the same catalog), median and min: the unchanged re-ingest
 * with the matching and without it (`rekey: false`); 1% churn (1 000 assets
 * gone, 1 000 unrelated new ones: the indexes are built, nothing pairs) with
 * and without; and a full rekey (every external id new, same guids: a Plex
 * library rebuilt) against the unchanged re-ingest.
 *
 * Run: `deno run --no-prompt --allow-read --allow-write --allow-run --allow-env bench/ingest_bench.ts`
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { openDatabase } from "../core/db.ts";
import { assetId, normalizeAsset } from "../ingest/normalize.ts";
import { type IngestClient, ingestCollection } from "../ingest/mod.ts";

const SERIES = 100;
const SEASONS = 10;
const EPISODES = 100;
const TOTAL = SERIES * SEASONS * EPISODES;
const BATCH = 1000;
const SOURCE_ID = "bench-00000001";
const COLLECTION_ID = "c-bench00001";

type Scenario =
  | "floor"
  | "full"
  | "unchanged"
  | "changed"
  | "season"
  | "secret"
  | "unchanged-norekey"
  | "churn"
  | "churn-norekey"
  | "rekey-all";

/** Rounds of the interleaved rekey scenarios. */
const REKEY_REPEATS = 5;

/** The rekey scenarios, in the order each round runs them. */
const REKEY_SCENARIOS = [
  "unchanged",
  "unchanged-norekey",
  "churn",
  "churn-norekey",
  "rekey-all",
] as const;

/** What each scenario streams: 0 as seeded, 1 1% changed, 2 every key new, 3 1% replaced. */
const VARIANT: Partial<Record<Scenario, number>> = {
  changed: 1,
  "rekey-all": 2,
  churn: 3,
  "churn-norekey": 3,
};

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
    const rekey = new Map<Scenario, ChildReport[]>();
    for (let round = 0; round < REKEY_REPEATS; round++) {
      for (const scenario of REKEY_SCENARIOS) {
        const copy = `${dir}/${scenario}-${round}.db`;
        Deno.copyFileSync(seed, copy);
        const report = await _spawn(scenario, copy);
        Deno.removeSync(copy);
        rekey.set(scenario, [...(rekey.get(scenario) ?? []), report]);
      }
    }
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
    _printRekey(rekey);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function _printRekey(runs: Map<Scenario, ChildReport[]>): void {
  const stats = (s: Scenario) => {
    const ms = runs.get(s)!.map((r) => r.ms).sort((a, b) => a - b);
    return { median: ms[Math.floor(ms.length / 2)], min: ms[0] };
  };
  console.log(
    `\nrekey matching: ${REKEY_REPEATS} interleaved rounds, each on a fresh copy of the catalog`,
  );
  console.log(
    "scenario".padEnd(18) + "median ms".padStart(10) + "min ms".padStart(9) + "  detail",
  );
  for (const s of REKEY_SCENARIOS) {
    const t = stats(s);
    console.log(
      s.padEnd(18) + t.median.toFixed(0).padStart(10) + t.min.toFixed(0).padStart(9) + "  " +
        runs.get(s)![0].detail,
    );
  }
  const ratio = (a: Scenario, b: Scenario, what: string) => {
    const x = stats(a);
    const y = stats(b);
    console.log(
      `${what.padEnd(44)} median ${(x.median / y.median).toFixed(3)}  min ${
        (x.min / y.min).toFixed(3)
      }`,
    );
  };
  ratio("unchanged", "unchanged-norekey", "unchanged, with matching / without (<= 1.05)");
  ratio("churn", "churn-norekey", "1% churn, with matching / without");
  ratio("rekey-all", "unchanged", "full rekey / unchanged re-ingest");
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
  // 2: a Plex library rebuilt (every key new, same guid); 3: 1% replaced by unrelated items.
  const replaced = variant === 3 && i % 100 === 0;
  const key = variant === 2 ? `rk-${i}` : replaced ? `new-${i}` : `ep-${i}`;
  return {
    externalId: key,
    kind: "episode",
    title: variant === 1 && i % 100 === 0 ? `Episode ${episode} (new cut)` : `Episode ${episode}`,
    seriesTitle: name,
    season,
    episode,
    year: 1990 + series % 30,
    durationMs: 1_320_000 + episode * 1000,
    externalIds: replaced
      ? { tvdb: String(9_000_000 + i), plex: `plex://episode/other-${i}` }
      : { tvdb: String(1_000_000 + i), plex: `plex://episode/${i.toString(16).padStart(24, "0")}` },
    path: `/data/tv/${name}/Season ${season}/${name} - s${season}e${episode}${
      replaced ? " (other)" : ""
    }.mkv`,
    size: 700_000_000 + i + (replaced ? 1 : 0),
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
      client: _client(VARIANT[scenario] ?? 0),
      collection: COLLECTION_ID,
      filters: scenario === "season" ? { title: "show 042", season: 3 } : {},
      onProgress: sample,
      secrets: scenario === "secret" ? [SECRET] : [],
      rekey: !scenario.endsWith("-norekey"),
      allowRemoval: true,
    });
    const s = result.stats;
    detail =
      `new ${s.new}, changed ${s.changed}, unchanged ${s.unchanged}, removed ${s.removed}, ` +
      `rekeyed ${s.rekeyed}, invalid ${s.invalid}`;
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

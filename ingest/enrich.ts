/**
 * The enrichment runner: runs a collection's attached enrichers over the
 * assets that need them, a bounded number at a time, and writes each result
 * in a short transaction of its own.
 *
 * ```ts
 * import type { DatabaseSync } from "node:sqlite";
 * import type { EnricherRegistry } from "../registry/mod.ts";
 * import { type AttachedEnricher, type EnrichCollection, enrichCollection } from "./mod.ts";
 *
 * declare const db: DatabaseSync, collection: EnrichCollection;
 * declare const registry: EnricherRegistry, attached: AttachedEnricher[];
 * const report = await enrichCollection(db, collection, { registry, attached, cores: 2 });
 * ```
 *
 * - Selection streams from SQLite a page at a time (see `enrich_select.ts`):
 *   memory does not grow with the collection.
 * - Each attached enricher runs in its own sandboxed worker that may read
 *   only the collection's local roots: its locations after path mapping,
 *   kept only where the operator granted them (see {@link localRoots}).
 * - Per asset, enrichers run in priority order; the first value of each
 *   field wins. One asset's failure (missing, corrupt, timeout, crash) is
 *   recorded on it and the rest go on; a worker that died is replaced, and
 *   the assets it took down with it are tried once more.
 * - A result for a file that changed meanwhile is discarded.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { EnricherConfig, EnrichTarget } from "../core/enricher_contract.ts";
import { RetrovueError } from "../core/errors.ts";
import type { ValidTechnicalMetadata } from "../core/schemas.ts";
import type { EnricherRegistry } from "../registry/mod.ts";
import type { EnricherClient } from "../registry/mod.ts";
import type { AttachedEnricher } from "./enrich_attach.ts";
import {
  countCandidates,
  type EnrichCandidate,
  type EnrichScope,
  selectCandidates,
  writeFailure,
  writeSuccess,
} from "./enrich_select.ts";
import { mapPath, type PathMapping } from "../core/path_mapping.ts";
import { MISSING_FILE_PREFIX } from "./readiness.ts";

/** The collection an enrichment run is for. */
export interface EnrichCollection {
  /** Collection id. */
  id: string;
  /** Upstream folder locations (mapped to local roots the workers may read). */
  locations: readonly string[];
  /** Path mappings, upstream prefix → local prefix. */
  pathMappings: readonly PathMapping[];
}

/** Options for {@link enrichCollection}. */
export interface EnrichOptions extends EnrichScope {
  /** The enricher registry (workers are opened from it). */
  registry: EnricherRegistry;
  /** The collection's attached enrichers, in run order. */
  attached: readonly AttachedEnricher[];
  /** Count what would be probed; open no worker and write nothing. */
  dryRun?: boolean;
  /** Calls at once per enricher; default its `concurrency` (`per_core`: `cores`). */
  jobs?: number;
  /** CPU cores (for `per_core`); default `navigator.hardwareConcurrency`. */
  cores?: number;
  /** The clock. */
  now?: () => Date;
  /** Called after each asset with the counts so far. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Stops the run (Ctrl-C): no new asset is started, those in flight finish
   * and are written, and the run rejects with `CANCELLED`.
   */
  signal?: AbortSignal;
  /**
   * The folders the operator granted the collection's source to read: its
   * config's read grants, as the registry derives them (`deriveSandbox`).
   * With the local side of each path mapping, they bound what the enrichers
   * may read (see {@link localRoots}). Default: none.
   */
  grantedRoots?: readonly string[];
}

/** One asset that could not be enriched. */
export interface EnrichFailure {
  /** Asset id. */
  assetId: string;
  /** `Show S01E02` or the movie title. */
  label: string;
  /** The error code (`MEDIA_INVALID`, `TIMEOUT`, `missing_file`, …). */
  code: string;
  /** One line. */
  message: string;
}

/** What a run did. */
export interface EnrichReport {
  /** Collection id. */
  collectionId: string;
  /** Type ids of the enrichers that ran (or would), in order. */
  enrichers: string[];
  /** Assets selected (needing enrichment, or all with `force`). */
  selected: number;
  /** Assets handed to an enricher (0 on a dry run). */
  probed: number;
  /** Assets whose result was stored. */
  enriched: number;
  /** Assets whose failure was recorded. */
  failed: number;
  /** Results dropped because the file changed during the run. */
  discarded: number;
  /** Assets no attached enricher applies to (by kind). */
  skipped: number;
  /** The first failures (at most {@link MAX_REPORTED_FAILURES}). */
  failures: EnrichFailure[];
  /** True when nothing was run or written. */
  dryRun: boolean;
}

/** How many failures a report lists. */
export const MAX_REPORTED_FAILURES = 20;

/** How many times one asset is tried when a worker dies under it. */
const MAX_ATTEMPTS = 2;

/**
 * Runs the attached enrichers over the collection's assets that need them
 * (all with `force`), narrowed by `title`/`season`. Throws
 * `ENRICHER_UNAVAILABLE` before doing anything when an attached enricher
 * cannot run (e.g. ffprobe missing) and `NOT_FOUND` when one is not
 * installed.
 *
 * @example Probe what a collection's new files lack
 * ```ts
 * import { getCollection } from "../core/catalog.ts";
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { loadEnricherRegistry } from "../registry/mod.ts";
 * import { enrichCollection, listAttachedEnrichers } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const collection = getCollection(db, "c-0123456789");
 * if (collection) {
 *   const registry = await loadEnricherRegistry();
 *   const attached = listAttachedEnrichers(db, collection.id);
 *   const report = await enrichCollection(db, collection, { registry, attached, jobs: 2 });
 *   console.log(`${report.enriched} enriched, ${report.failed} failed`);
 * }
 * ```
 */
export async function enrichCollection(
  db: DatabaseSync,
  collection: EnrichCollection,
  options: EnrichOptions,
): Promise<EnrichReport> {
  const { registry } = options;
  const scope: EnrichScope = { title: options.title, season: options.season, force: options.force };
  const now = options.now ?? (() => new Date());
  const plans = options.attached.map((a) => {
    const info = registry.get(a.typeId);
    if (!info) {
      throw new RetrovueError(
        "NOT_FOUND",
        `enricher '${a.typeId}' is attached but not installed; run 'enricher list-types'`,
        { details: { typeId: a.typeId } },
      );
    }
    // A dry run only counts: it needs no executable.
    const config = options.dryRun ? a.config : registry.resolveConfig(a.typeId, a.config);
    const concurrency = info.manifest.concurrency ?? 1;
    const cores = options.cores ?? navigator.hardwareConcurrency ?? 1;
    return {
      typeId: a.typeId,
      appliesTo: info.manifest.appliesTo as string[],
      config,
      jobs: Math.max(1, options.jobs ?? (concurrency === "per_core" ? cores : concurrency)),
    };
  });
  const report: EnrichReport = {
    collectionId: collection.id,
    enrichers: plans.map((p) => p.typeId),
    selected: countCandidates(db, collection.id, scope),
    probed: 0,
    enriched: 0,
    failed: 0,
    discarded: 0,
    skipped: 0,
    failures: [],
    dryRun: options.dryRun === true,
  };
  if (report.dryRun || plans.length === 0 || report.selected === 0) return report;

  const roots = localRoots(collection, options.grantedRoots);
  const workers = plans.map((plan) => _workerSlot(registry, plan, roots));
  const jobs = Math.max(...plans.map((p) => p.jobs));
  const fail = (asset: EnrichCandidate, code: string, message: string) => {
    if (writeFailure(db, asset, { reason: message, now: now().toISOString() })) {
      report.failed++;
      if (report.failures.length < MAX_REPORTED_FAILURES) {
        report.failures.push({ assetId: asset.id, label: asset.label, code, message });
      }
    } else report.discarded++;
  };
  let done = 0;
  const one = async (asset: EnrichCandidate) => {
    const parts = (asset.parts.length ? asset.parts : [asset.path]).map((p) =>
      mapPath(p, collection.pathMappings) ?? p
    );
    const applicable = workers.filter((w) => w.plan.appliesTo.includes(asset.kind));
    if (applicable.length === 0) {
      report.skipped++;
      return;
    }
    const outside = parts.find((p) => !roots.some((r) => _inside(p, r)));
    if (outside !== undefined) {
      return fail(
        asset,
        "FILE_UNREADABLE",
        `${outside} is outside the folders this collection's enrichers may read (the local ` +
          "side of its path mappings, and what its source's config grants); if the file is at " +
          "that path on this machine, map its folder to itself with 'collection update " +
          "--path-mapping DIR=DIR'",
      );
    }
    const missing = await _firstMissing(parts);
    if (missing !== undefined) {
      return fail(asset, "missing_file", `${MISSING_FILE_PREFIX} ${missing}`);
    }
    report.probed++;
    const target: EnrichTarget = {
      assetId: asset.id,
      kind: asset.kind,
      title: asset.label,
      parts,
      durationMs: asset.durationMs,
    };
    const results: { typeId: string; tech: ValidTechnicalMetadata; durationMs: number | null }[] =
      [];
    let firstError: RetrovueError | undefined;
    for (const worker of applicable) {
      try {
        const result = await worker.enrich(target, options.signal);
        results.push({
          typeId: worker.plan.typeId,
          tech: result.tech,
          durationMs: result.durationMs ?? null,
        });
      } catch (error) {
        firstError ??= error instanceof RetrovueError
          ? error
          : new RetrovueError("PLUGIN_ERROR", String(error));
      }
    }
    // Stopped (Ctrl-C, SIGTERM) with no answer: the call was cut short, which says nothing
    // of the asset. An answer that came is kept.
    if (results.length === 0 && options.signal?.aborted) return;
    if (results.length === 0) {
      return fail(asset, firstError?.code ?? "PLUGIN_ERROR", firstError?.message ?? "failed");
    }
    const stored = writeSuccess(db, asset, {
      tech: mergeTech(results.map((r) => r.tech)),
      durationMs: results.find((r) => r.durationMs !== null)?.durationMs ?? null,
      source: results.map((r) => r.typeId).join("+"),
      now: now().toISOString(),
    });
    if (stored) report.enriched++;
    else report.discarded++;
  };
  try {
    for (const worker of workers) await worker.warm();
    const queue = selectCandidates(db, collection.id, scope);
    const lane = async () => {
      while (!options.signal?.aborted) {
        const next = queue.next();
        if (next.done) return;
        await one(next.value);
        done++;
        options.onProgress?.(done, report.selected);
      }
    };
    await Promise.all(Array.from({ length: jobs }, lane));
    if (options.signal?.aborted) {
      throw new RetrovueError(
        "CANCELLED",
        `enrichment interrupted after ${done} of ${report.selected} asset(s); ` +
          "what was done is kept, and 'collection enrich' goes on from there",
      );
    }
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
  return report;
}

/**
 * The local folders a collection's enricher workers may read. What the
 * operator granted bounds them: the local side of each path mapping and the
 * source's read grants (`granted`). The collection's locations, which its
 * importer reported, narrow that to where its media are (each location
 * through the path mappings): a location inside a granted folder is kept,
 * a granted folder inside a location is kept, and a location outside every
 * granted folder grants nothing. An importer's word alone never makes
 * another plugin able to read a folder. Without locations, the granted
 * folders themselves.
 */
export function localRoots(
  collection: EnrichCollection,
  granted: readonly string[] = [],
): string[] {
  const trusted = _folders([...collection.pathMappings.map((m) => m.localPrefix), ...granted]);
  const located = _folders(
    collection.locations.map((l) => mapPath(l, collection.pathMappings) ?? l),
  );
  if (located.length === 0) return trusted;
  const roots = new Set<string>();
  for (const location of located) {
    for (const folder of trusted) {
      if (_inside(location, folder)) roots.add(location);
      else if (_inside(folder, location)) roots.add(folder);
    }
  }
  return [...roots];
}

/** Absolute paths only, without trailing slashes, each once. */
function _folders(paths: readonly string[]): string[] {
  return [
    ...new Set(paths.filter((p) => p.startsWith("/")).map((p) => p.replace(/\/+$/, "") || "/")),
  ];
}

/**
 * Shallow-merges technical fields in priority order: each top-level field
 * comes from the first result that has it (not null, not an empty list).
 */
export function mergeTech(list: readonly ValidTechnicalMetadata[]): ValidTechnicalMetadata {
  const out: Record<string, unknown> = {};
  const keys = new Set(list.flatMap((t) => Object.keys(t)));
  for (const key of keys) {
    const values = list.map((t) => (t as Record<string, unknown>)[key]).filter((v) =>
      v !== undefined
    );
    out[key] = values.find((v) => v !== null && !(Array.isArray(v) && v.length === 0)) ??
      values[0];
  }
  return out as ValidTechnicalMetadata;
}

interface WorkerSlot {
  plan: { typeId: string; appliesTo: string[]; config: EnricherConfig };
  /** Opens the worker now, so that a sandbox refusal fails the run before any asset. */
  warm(): Promise<void>;
  /** Enriches one asset; a `signal` aborted rejects the call at once with `CANCELLED`. */
  enrich(
    target: EnrichTarget,
    signal?: AbortSignal,
  ): Promise<{ tech: ValidTechnicalMetadata; durationMs?: number | null }>;
  close(): Promise<void>;
}

/**
 * One enricher's worker, opened on first use and reopened after it dies. A
 * call that fails because the worker died under it (not its own deadline)
 * is tried once more on a fresh worker.
 */
function _workerSlot(
  registry: EnricherRegistry,
  plan: WorkerSlot["plan"],
  roots: readonly string[],
): WorkerSlot {
  let client: Promise<EnricherClient> | undefined;
  const open = () => client ??= registry.open(plan.typeId, plan.config, { readRoots: roots });
  const current = async () => {
    const c = await open();
    if (c.alive) return c;
    client = undefined;
    c.close().catch(() => {});
    return await open();
  };
  return {
    plan,
    async warm() {
      await open();
    },
    async enrich(target, signal) {
      for (let attempt = 1;; attempt++) {
        const c = await current();
        try {
          return await c.enrich(target, { signal });
        } catch (error) {
          const own = error instanceof RetrovueError && error.details?.timeoutMs !== undefined;
          if (c.alive || own || attempt >= MAX_ATTEMPTS) throw error;
          // The worker died under this call (another asset crashed or hung it): retry once.
        }
      }
    },
    async close() {
      const c = await client?.catch(() => undefined);
      await c?.close();
    },
  };
}

function _inside(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(root + "/");
}

async function _firstMissing(parts: readonly string[]): Promise<string | undefined> {
  for (const part of parts) {
    try {
      await Deno.stat(part);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return part;
      // Anything else (a permission problem) is for the enricher to report.
    }
  }
  return undefined;
}

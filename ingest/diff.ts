/**
 * Classification of one ingest run against the catalog.
 *
 * Memory stays bounded at any collection size: each item the importer
 * streams is validated, normalised and written to the run's staging table
 * (`staging.ts`) at once (or counted as invalid, duplicate or out of scope),
 * and nothing of the catalog is loaded. Of a re-ingest's batch, the assets
 * whose live row has their fingerprint are staged narrow, and matched, by
 * one statement (`Stage.putUnchanged`). When the stream ends, set-based
 * queries against the indexed catalog count new, changed, unchanged,
 * restored and (full ingests only) removed assets. Assets that went and came
 * back under a new external id are paired afterwards (`rekey.ts`); the apply
 * step (`apply.ts`) writes it all with set-based statements.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { SecretForms } from "../core/config.ts";
import type { AssetFilters } from "../core/contract.ts";
import {
  assetFingerprints,
  assetId,
  normalizeAsset,
  type NormalizedAsset,
  normalizeText,
  withoutFileIds,
} from "./normalize.ts";
import { liveAssetCount } from "../core/catalog.ts";
import type { PathMapping } from "../core/path_mapping.ts";
import { createStage, type Stage, unseenLiveSql } from "./staging.ts";
import { isFullScope } from "./scope.ts";

/** Something the operator should see about the run: an invalid item, a duplicate id… */
export interface IngestIssue {
  /**
   * `invalid`: failed validation; `duplicate`: id seen before in this run;
   * `out_of_scope`: ignored; `ambiguous_identity`: a new item that looks like
   * more than one asset that went (or shares one with another new item), so
   * no identity was carried over.
   */
  kind: "invalid" | "duplicate" | "out_of_scope" | "ambiguous_identity";
  /** The item's external id, when it had one. */
  externalId: string | null;
  /** One line saying what is wrong. */
  message: string;
}

/** Counts reported for every ingest. */
export interface IngestStats {
  /** Items the run considered: in-scope valid ones, plus invalid and duplicate ones. */
  discovered: number;
  /** Inserted. */
  new: number;
  /** Updated because the fingerprint differs. */
  changed: number;
  /** Seen again, identical. */
  unchanged: number;
  /** Soft-deleted (full ingests only). */
  removed: number;
  /**
   * Existing assets seen again under a new external id (the same media by
   * upstream guid, provider ids, path or file): they keep their id.
   */
  rekeyed: number;
  /** Soft-deleted before and seen again. */
  restored: number;
  /** Rejected by validation, plus duplicates. */
  invalid: number;
}

/**
 * A classified run: counts and issues in memory, the assets themselves in
 * the run's {@link Stage}. The apply step and the removal guard read the
 * stage; {@link IngestPlan.signature} lets the apply step see whether the
 * catalog moved since the counts were taken.
 */
export interface IngestPlan {
  /** The run's staging tables (dropped by the pipeline when it is done). */
  stage: Stage;
  /** The collection ingested. */
  collectionId: string;
  /** Whether this plan covers the whole collection (so every live asset was seen). */
  full: boolean;
  /** Counts. */
  stats: IngestStats;
  /** Issues, sorted by external id then message; at most {@link MAX_ISSUES}. */
  issues: IngestIssue[];
  /** Assets that were in scope and valid (0 means the scope matched nothing). */
  inScope: number;
  /** Valid assets outside the requested scope that were ignored. */
  outOfScope: number;
  /** Staged assets with no catalog row under their external id (new or re-keyed). */
  unmatched: number;
  /**
   * Unchanged staged assets whose stored row differs by the file ids their
   * marker gained (see `withoutFileIds`): the apply step stores them quietly.
   */
  quiet: number;
  /** What the counts were taken against (see {@link classifyStaged}). */
  signature: string;
}

/** The most issues listed in a result; the counts stay complete. */
export const MAX_ISSUES = 1000;

/** Options for {@link createClassifier}. */
export interface ClassifierOptions {
  /** The collection being ingested. */
  collectionId: string;
  /** The collection's path mappings. */
  mappings: readonly PathMapping[];
  /** The targeted scope; empty for a full ingest. */
  filters: AssetFilters;
  /**
   * The source's secrets: an item carrying one in any form is invalid (and
   * its existing row, if any, is kept rather than removed).
   */
  secrets?: SecretForms;
}

/** Streaming classifier: feed raw items with `add`, then call `finish` once. */
export interface Classifier {
  /** Validates, normalises and stages one raw item. */
  add(raw: unknown): void;
  /**
   * Keeps the collection's live assets under an external-id prefix the
   * importer could not list (`CallContext.unlisted`; with `exact`, the one
   * asset of that external id) as they are, like assets named by invalid
   * items. Returns how many it holds.
   */
  holdUnlisted(prefix: string, options?: { exact?: boolean }): number;
  /**
   * {@link Classifier.add} for every item of a batch, staged in one
   * transaction of the temp schema (the catalog itself is not locked).
   * `each` is called with every item after it was added.
   */
  addBatch(batch: readonly unknown[], each?: (raw: unknown) => void): void;
  /** Number of items added so far. */
  readonly seen: number;
  /** Classifies the staged assets against the catalog and returns the plan. */
  finish(): IngestPlan;
  /** Drops the staging tables. Safe to call more than once. */
  close(): void;
}

/**
 * Whether a normalised asset lies inside a targeted scope. Titles match
 * case-insensitively and exactly after {@link normalizeText}: the series title
 * for episodes, the title for movies. An episode range matches every episode
 * in it.
 */
export function matchesScope(
  asset: Pick<
    NormalizedAsset,
    "kind" | "title" | "seriesTitle" | "season" | "episode" | "episodeEnd"
  >,
  filters: AssetFilters,
): boolean {
  if (filters.title !== undefined) {
    const own = asset.kind === "episode" ? asset.seriesTitle ?? "" : asset.title;
    if (own.toLowerCase() !== normalizeText(filters.title).toLowerCase()) return false;
  }
  if (filters.season !== undefined && asset.season !== filters.season) return false;
  if (filters.episode !== undefined) {
    const first = asset.episode;
    if (first === null) return false;
    const last = asset.episodeEnd ?? first;
    if (filters.episode < first || filters.episode > last) return false;
  }
  return true;
}

/**
 * Creates a streaming classifier for one run: each item is validated and
 * normalised at once, then staged (or counted as invalid, duplicate or out
 * of scope); nothing of the catalog is loaded.
 */
export function createClassifier(db: DatabaseSync, options: ClassifierOptions): Classifier {
  const full = isFullScope(options.filters);
  // A first import: every asset is new, so derive ids now, while the importer
  // streams, rather than in the apply's write transaction. (Ids are derived
  // alike either way; a catalog that moved meanwhile is the apply's CONFLICT.)
  const firstImport = db.prepare(
    "SELECT 1 FROM main.assets INDEXED BY assets_external WHERE collection_id = ? LIMIT 1",
  ).get(options.collectionId) === undefined;
  const stage = createStage(db);
  // Staged rows are matched against the catalog batch by batch, while the
  // importer fetches the next one, so that finishing is only the removals.
  // A first import matches nothing: its rows are counted, not looked up.
  let matched = _NO_MATCHES;
  // Assets staged since the last match whose marker carries file ids: their
  // quiet fingerprint is computed only if their stored row differs.
  const pendingQuiet = new Map<string, NormalizedAsset>();
  let inBatch = false;
  const matchNew = () => {
    if (firstImport) {
      matched = { ..._NO_MATCHES, unmatched: inScope };
      return;
    }
    const next = _matchStaged(db, stage, {
      collectionId: options.collectionId,
      afterSeq: matched.lastSeq,
    });
    if (next.changed > 0 && pendingQuiet.size > 0) {
      _settleQuiet(db, stage, {
        collectionId: options.collectionId,
        afterSeq: matched.lastSeq,
        next,
        pending: pendingQuiet,
      });
    }
    pendingQuiet.clear();
    matched = _addMatches(matched, next);
  };
  const issues: IngestIssue[] = [];
  let seen = 0;
  let discovered = 0;
  let invalid = 0;
  let inScope = 0;
  let outOfScope = 0;

  const issue = (item: IngestIssue) => {
    if (issues.length < MAX_ISSUES) issues.push(item);
  };

  /**
   * Validates and normalises one raw item: an asset to stage (in scope and
   * valid), or null when it was counted as invalid or out of scope.
   */
  const accept = (raw: unknown): NormalizedAsset | null => {
    seen++;
    const outcome = normalizeAsset(raw, options.mappings, { secrets: options.secrets });
    if (!outcome.ok) {
      discovered++;
      invalid++;
      if (outcome.externalId !== null) stage.markInvalid(outcome.externalId);
      issue({ kind: "invalid", externalId: outcome.externalId, message: outcome.reason });
      return null;
    }
    const asset = outcome.asset;
    if (!full && !matchesScope(asset, options.filters)) {
      outOfScope++;
      return null;
    }
    discovered++;
    return asset;
  };

  /** Stages an accepted asset whole; a repeated external id is counted as a duplicate. */
  const put = (asset: NormalizedAsset): void => {
    const extra = {
      quietFingerprint: null,
      newId: firstImport ? assetId(options.collectionId, asset.externalId) : null,
    };
    if (!stage.put(asset, extra)) {
      invalid++;
      issue({
        kind: "duplicate",
        externalId: asset.externalId,
        message: "external id seen more than once in this run; the first one was kept",
      });
      return;
    }
    inScope++;
    if (!firstImport && withoutFileIds(asset.modified) !== undefined) {
      pendingQuiet.set(asset.externalId, asset);
      // Items added one by one are matched a batch's worth at a time.
      if (!inBatch && pendingQuiet.size >= _MATCH_EVERY) matchNew();
    }
  };

  const add = (raw: unknown): void => {
    const asset = accept(raw);
    if (asset !== null) put(asset);
  };

  /**
   * Stages a batch's accepted assets in their order: those whose live row
   * has their fingerprint narrow, in one statement (each external id's first
   * occurrence in the batch only, so that a repeat is still the duplicate),
   * the others whole.
   */
  const putAll = (assets: readonly NormalizedAsset[]): void => {
    let narrow: Set<string> | undefined;
    if (!firstImport && assets.length > 0) {
      const firsts = new Map<string, NormalizedAsset>();
      for (const a of assets) if (!firsts.has(a.externalId)) firsts.set(a.externalId, a);
      narrow = stage.putUnchanged(options.collectionId, [...firsts.values()]);
    }
    for (const asset of assets) {
      // Deleted once taken, so a repeat of the id falls through to the duplicate.
      if (narrow?.delete(asset.externalId)) inScope++;
      else put(asset);
    }
  };

  return {
    get seen() {
      return seen;
    },
    add,
    holdUnlisted(prefix, hold) {
      return stage.markUnlisted(options.collectionId, prefix, hold);
    },
    addBatch(batch, each) {
      db.exec("BEGIN");
      inBatch = true;
      try {
        const accepted: NormalizedAsset[] = [];
        for (const raw of batch) {
          const asset = accept(raw);
          if (asset !== null) accepted.push(asset);
          each?.(raw);
        }
        putAll(accepted);
        db.exec("COMMIT");
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      } finally {
        inBatch = false;
      }
      matchNew();
    },
    finish(): IngestPlan {
      matchNew(); // What `add` staged outside a batch.
      const counts = classifyStaged(db, stage, {
        collectionId: options.collectionId,
        full,
        matched,
      });
      issues.sort((a, b) =>
        _cmp(a.externalId ?? "", b.externalId ?? "") || _cmp(a.kind, b.kind) ||
        _cmp(a.message, b.message)
      );
      return {
        stage,
        collectionId: options.collectionId,
        full,
        stats: {
          discovered,
          new: counts.unmatched,
          changed: counts.changed,
          unchanged: counts.unchanged,
          removed: full ? counts.gone : 0,
          rekeyed: 0,
          restored: counts.restored,
          invalid,
        },
        issues,
        inScope,
        outOfScope,
        unmatched: counts.unmatched,
        quiet: counts.quiet,
        signature: counts.signature,
      };
    },
    close() {
      stage.drop();
    },
  };
}

/** What {@link classifyStaged} counts. */
export interface StagedCounts {
  /** Staged assets with no catalog row under their external id. */
  unmatched: number;
  /** Staged assets whose catalog row is soft-deleted. */
  restored: number;
  /** Staged assets whose live catalog row differs. */
  changed: number;
  /** Staged assets whose live catalog row is the same (or differs only by added file ids). */
  unchanged: number;
  /** Of the unchanged, those whose live catalog row differs only by added file ids. */
  quiet: number;
  /** Live catalog rows the run did not see (full ingests; 0 otherwise), re-keyed ones excluded. */
  gone: number;
  /** Every count above and the newest `updated_at` they involve, as one comparable string. */
  signature: string;
}

/**
 * How staged rows matched the collection's catalog rows by external id:
 * the counts {@link StagedCounts} starts from, for the staged rows up to
 * `lastSeq`.
 */
export interface StagedMatches {
  /** Staged rows with a catalog row. */
  matched: number;
  /** Staged rows without one. */
  unmatched: number;
  /** Matched to a soft-deleted row. */
  restored: number;
  /** Matched to a live row that differs. */
  changed: number;
  /** Matched to a live row that differs only by added file ids. */
  quiet: number;
  /** The newest `updated_at` of the matched rows (null: none). */
  latest: string | null;
  /** The last staged row (`seq`) these counts cover. */
  lastSeq: number;
}

const _NO_MATCHES: StagedMatches = {
  matched: 0,
  unmatched: 0,
  restored: 0,
  changed: 0,
  quiet: 0,
  latest: null,
  lastSeq: 0,
};

/**
 * Matches the staged rows after `afterSeq` (one set-based query). Rows
 * staged narrow (`putUnchanged`) were matched as they were staged: they
 * count as matched, live and unchanged, stamped with the `updated_at` they
 * were matched to, and are not looked up again unless `verify` (the apply's
 * re-check of a catalog that moved, which must see what changed since).
 */
function _matchStaged(
  db: DatabaseSync,
  stage: Stage,
  options: { collectionId: string; afterSeq: number; verify?: boolean },
): StagedMatches {
  const narrow = options.verify ? "" : "s.unchanged_at IS NULL AND";
  const matched = options.verify ? "count(a.id)" : "count(a.id) + count(s.unchanged_at)";
  const latest = options.verify ? "a.updated_at" : "coalesce(a.updated_at, s.unchanged_at)";
  const row = db.prepare(
    `SELECT ${matched} AS matched,
       count(*) - (${matched}) AS unmatched,
       coalesce(sum(a.deleted_at IS NOT NULL), 0) AS restored,
       coalesce(sum(a.deleted_at IS NULL AND a.fingerprint != s.fingerprint
         AND (s.quiet_fingerprint IS NULL OR s.quiet_fingerprint != a.fingerprint)), 0) AS changed,
       coalesce(sum(a.deleted_at IS NULL AND a.fingerprint != s.fingerprint
         AND s.quiet_fingerprint = a.fingerprint), 0) AS quiet,
       max(${latest}) AS latest,
       coalesce(max(s.seq), ?) AS last_seq
     FROM ${stage.table} s
     LEFT JOIN main.assets a INDEXED BY assets_external
       ON ${narrow} a.collection_id = ? AND a.external_id = s.external_id
     WHERE s.seq > ?`,
  ).get(options.afterSeq, options.collectionId, options.afterSeq) as Record<
    string,
    number | string | null
  >;
  return {
    matched: Number(row.matched),
    unmatched: Number(row.unmatched),
    restored: Number(row.restored),
    changed: Number(row.changed),
    quiet: Number(row.quiet),
    latest: row.latest === null ? null : String(row.latest),
    lastSeq: Number(row.last_seq),
  };
}

function _addMatches(a: StagedMatches, b: StagedMatches): StagedMatches {
  return {
    matched: a.matched + b.matched,
    unmatched: a.unmatched + b.unmatched,
    restored: a.restored + b.restored,
    changed: a.changed + b.changed,
    quiet: a.quiet + b.quiet,
    latest: a.latest === null || (b.latest !== null && b.latest > a.latest) ? b.latest : a.latest,
    lastSeq: Math.max(a.lastSeq, b.lastSeq),
  };
}

/**
 * Classifies the staged assets against the catalog with two set-based
 * queries (the stage joined to the collection's rows by external id, and,
 * for a full ingest, the collection's live rows not staged; that one only
 * when the collection has more live rows than the stage matched). The apply step
 * runs it again inside its transaction when another connection committed
 * meanwhile: a different signature means the catalog moved under the plan.
 * `matched`: the first query's result, when the classifier already has it
 * for every staged row (it matches batch by batch while the importer streams).
 */
export function classifyStaged(
  db: DatabaseSync,
  stage: Stage,
  options: { collectionId: string; full: boolean; matched?: StagedMatches },
): StagedCounts {
  const row = options.matched ??
    _matchStaged(db, stage, { collectionId: options.collectionId, afterSeq: 0, verify: true });
  const matched = row.matched;
  const restored = row.restored;
  const changed = row.changed;
  let gone = 0;
  let goneLatest: string | number | null = null;
  // Every live row that was staged is matched, and staged ids are unique:
  // when those account for all of the collection's live rows, none went, and
  // the per-row query below (~0.1 s per 100k assets) would find nothing.
  if (options.full && liveAssetCount(db, options.collectionId) !== matched - restored) {
    const g = db.prepare(
      `SELECT count(*) AS n, max(a.updated_at) AS latest FROM main.assets a
       INDEXED BY assets_external WHERE ${unseenLiveSql(stage, "a")}`,
    ).get(options.collectionId) as { n: number; latest: string | null };
    gone = Number(g.n);
    goneLatest = g.latest;
  }
  const counts = {
    unmatched: row.unmatched,
    restored,
    changed,
    unchanged: matched - restored - changed,
    quiet: row.quiet,
    gone,
  };
  return {
    ...counts,
    signature: JSON.stringify([counts, row.latest, goneLatest]),
  };
}

/** The fingerprint an asset had before its importer added file ids to its marker, or null. */
function _quietFingerprint(asset: NormalizedAsset): string | null {
  const before = withoutFileIds(asset.modified);
  if (before === undefined) return null;
  return assetFingerprints({ ...asset, modified: before }).fingerprint;
}

/** Items added one by one (not in a batch) are matched every this many. */
const _MATCH_EVERY = 1000;

/**
 * Computes the quiet fingerprints the staged rows after `afterSeq` need:
 * those whose live catalog row differs. Staging all of them costs a second
 * fingerprint per asset; a re-ingest rarely has a row that differs. Only a
 * quiet fingerprint equal to the stored one is written (any other would
 * count, and apply, as no quiet fingerprint at all), and `next` is corrected
 * in place: such a row is quiet, not changed, as {@link _matchStaged} would
 * have counted it had the fingerprint been staged from the start.
 */
function _settleQuiet(
  db: DatabaseSync,
  stage: Stage,
  options: {
    collectionId: string;
    afterSeq: number;
    next: StagedMatches;
    pending: Map<string, NormalizedAsset>;
  },
): void {
  const { next, pending } = options;
  const differing = db.prepare(
    `SELECT s.seq, s.external_id, a.fingerprint FROM ${stage.table} s
     CROSS JOIN main.assets a INDEXED BY assets_external
     WHERE s.seq > ? AND s.seq <= ? AND a.collection_id = ? AND a.external_id = s.external_id
       AND a.deleted_at IS NULL AND a.fingerprint != s.fingerprint`,
  ).all(options.afterSeq, next.lastSeq, options.collectionId) as {
    seq: number;
    external_id: string;
    fingerprint: string;
  }[];
  const setQuiet = db.prepare(`UPDATE ${stage.table} SET quiet_fingerprint = ? WHERE seq = ?`);
  db.exec("BEGIN");
  try {
    for (const row of differing) {
      const asset = pending.get(row.external_id);
      if (asset === undefined) continue;
      const quiet = _quietFingerprint(asset);
      if (quiet === null || quiet !== row.fingerprint) continue;
      setQuiet.run(quiet, row.seq);
      next.changed--;
      next.quiet++;
    }
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

function _cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

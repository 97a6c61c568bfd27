/**
 * `ingest history [collection]`: the recorded ingest runs, newest first, with
 * what each added, changed, removed, restored or re-keyed; `asset list
 * --changed-in RUN` lists the assets themselves. A plain read: it never waits
 * on a running ingest.
 *
 * @module
 */

import { getCollection, getSource } from "../core/catalog.ts";
import { changeCounts, type IngestRun, listRuns } from "../ingest/records.ts";
import { type Command, parseCommandArgs, parseCount } from "./command.ts";
import { inertLine } from "./inert.ts";
import { formatTable, writeJson } from "./output.ts";
import { findCollection, findSource } from "./lookup.ts";

/** A run's one-line description: collection, scope, time. */
export function runLabel(run: IngestRun): string {
  return `${inertLine(run.collectionName)}, ${_scope(run)}, ${run.finishedAt}`;
}

/** `full`, or what a targeted run covered (`'Alpha' season 2`). */
function _scope(run: IngestRun): string {
  const f = run.filters;
  if (run.scope === "collection") return "full";
  return [
    `'${inertLine(f.title ?? "")}'`,
    f.season === undefined ? "" : `season ${f.season}`,
    f.episode === undefined ? "" : `episode ${f.episode}`,
  ].filter(Boolean).join(" ");
}

/** A run's `--json` form. */
export function runJson(run: IngestRun): Record<string, unknown> {
  return {
    id: run.id,
    collectionId: run.collectionId,
    collectionName: run.collectionName,
    finishedAt: run.finishedAt,
    scope: run.scope,
    filters: {
      title: run.filters.title ?? null,
      season: run.filters.season ?? null,
      episode: run.filters.episode ?? null,
    },
    stats: { ...run.stats },
  };
}

const history: Command = {
  path: ["ingest", "history"],
  summary: "List recorded ingest runs and what each changed",
  help: `Usage: retrovue ingest history [collection] [--source S] [--limit N] [--json]

Lists the ingest runs recorded in the catalog, newest first: when, which
collection, full or targeted, and how many assets each added, changed,
removed, restored or re-keyed. Dry runs and runs held back by the removal
guard write nothing and are not recorded. Each collection keeps its last 50
runs. List a run's assets with 'asset list --changed-in RUN' (or 'last').

  --source S  only this source's collections (id or name)
  --limit N   at most N runs (default 20; 0 for all)
`,
  run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, {
      source: { type: "string" },
      limit: { type: "string" },
    }, { maxPositionals: 1 });
    const limit = values.limit === undefined ? 20 : parseCount("--limit", values.limit);
    const db = ctx.openDb({ readOnly: true });
    const source = values.source === undefined ? undefined : findSource(db, values.source);
    const collection = positionals[0] === undefined
      ? undefined
      : findCollection(db, positionals[0], { sourceId: source?.id });
    const runs = listRuns(db, {
      collectionId: collection?.id,
      sourceId: source?.id,
      limit: limit === 0 ? -1 : limit,
    });
    if (ctx.json) {
      writeJson(ctx, { status: "ok", runs: runs.map(runJson) });
      return Promise.resolve(0);
    }
    if (runs.length === 0) {
      ctx.stdout.write("No ingest runs recorded.\n");
      return Promise.resolve(0);
    }
    // Collections of two sources may share a name (`Shows`): the source tells them apart.
    const sourceOf = new Map<string, string>();
    const sourceName = (collectionId: string) => {
      let name = sourceOf.get(collectionId);
      if (name === undefined) {
        const collection = getCollection(db, collectionId);
        name = (collection && getSource(db, collection.sourceId)?.name) ?? "-";
        sourceOf.set(collectionId, name);
      }
      return name;
    };
    ctx.stdout.write(formatTable(
      [
        "run",
        "finished",
        "source",
        "collection",
        "scope",
        "new",
        "changed",
        "removed",
        "restored",
        "rekeyed",
      ],
      runs.map((r) => {
        const n = changeCounts(db, r.id);
        return [
          String(r.id),
          r.finishedAt,
          sourceName(r.collectionId),
          r.collectionName,
          _scope(r),
          String(n.new),
          String(n.changed),
          String(n.removed),
          String(n.restored),
          String(n.rekeyed),
        ];
      }),
      { color: ctx.color, width: ctx.width },
    ));
    return Promise.resolve(0);
  },
};

/** The `ingest history` command. */
export const commands: readonly Command[] = [history];

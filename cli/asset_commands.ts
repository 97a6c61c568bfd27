/**
 * `asset list` and `asset show`: read the catalog an ingest produced. Plain
 * reads, so they never wait on a running ingest. `--json` shapes are in
 * `docs/cli.md`.
 *
 * @module
 */

import type { TechnicalMetadata } from "../core/contract.ts";
import { RetrovueError } from "../core/errors.ts";
import type { DatabaseSync } from "node:sqlite";
import { type Command, type CommandContext, parseCommandArgs, parseCount } from "./command.ts";
import { formatFields, formatTable, writeJson } from "./output.ts";
import { findCollection, findSource } from "./lookup.ts";
import {
  assetLabel,
  type AssetRecord,
  changesOf,
  listAssets,
  parseReadiness,
  READINESS_STATES,
  resolveAsset,
  resolveRun,
} from "../ingest/records.ts";
import { runJson, runLabel } from "./history_commands.ts";

/** Rows `asset list` shows when no `--limit` is given. */
export const DEFAULT_ASSET_LIMIT = 100;

const list: Command = {
  path: ["asset", "list"],
  summary: "List ingested assets",
  help: `Usage: retrovue asset list [--source S] [--collection C] [--title T] [--season N]
       [--state S] [--include-deleted] [--changed-in last|RUN] [--limit N] [--json]

Lists assets sorted by source, collection, show (or movie) title, season,
episode and title. Soft-deleted assets (gone upstream) are hidden unless
--include-deleted.

  --source S         only this source's assets (id or name)
  --collection C     only this collection's assets (id or name)
  --title T          show title (episodes) or movie title, exact, case-insensitive
  --season N         season number
  --state S          readiness: ${READINESS_STATES.join(", ")}
  --include-deleted  include soft-deleted assets
  --changed-in R     only what ingest run R added, changed, removed, restored or
                     re-keyed: 'last' (of --collection when given) or a run
                     number from 'ingest history'; adds a 'change' column
  --limit N          at most N assets (default ${DEFAULT_ASSET_LIMIT}; 0 for all)
`,
  run(ctx) {
    const { values } = parseCommandArgs(ctx, {
      source: { type: "string" },
      collection: { type: "string" },
      title: { type: "string" },
      season: { type: "string" },
      state: { type: "string" },
      "include-deleted": { type: "boolean" },
      "changed-in": { type: "string" },
      limit: { type: "string" },
    });
    const season = values.season === undefined ? undefined : parseCount("--season", values.season);
    const limit = values.limit === undefined
      ? DEFAULT_ASSET_LIMIT
      : parseCount("--limit", values.limit);
    if (values.title !== undefined && values.title.trim() === "") {
      throw new RetrovueError("USAGE", "--title needs a non-empty title");
    }
    const state = values.state === undefined ? undefined : parseReadiness(values.state);
    const db = _openForReading(ctx);
    const source = values.source === undefined ? undefined : findSource(db, values.source);
    const collection = values.collection === undefined
      ? undefined
      : findCollection(db, values.collection, { sourceId: source?.id });
    const run = values["changed-in"] === undefined
      ? undefined
      : resolveRun(db, values["changed-in"].trim(), { collectionId: collection?.id });
    const { total, assets } = listAssets(db, {
      changedIn: run?.id,
      sourceId: source?.id,
      collectionId: collection?.id,
      title: values.title,
      season,
      state,
      includeDeleted: values["include-deleted"] ?? false,
      limit,
    });
    const changes = run ? changesOf(db, run.id, { assetIds: assets.map((a) => a.id) }) : null;
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        total,
        count: assets.length,
        ...(run ? { run: runJson(run) } : {}),
        assets: changes ? assets.map((a) => ({ ...a, change: changes.get(a.id) ?? null })) : assets,
      });
      return Promise.resolve(0);
    }
    if (run) ctx.stdout.write(`Changes of ingest run ${run.id} (${runLabel(run)}):\n`);
    if (assets.length === 0) {
      ctx.stdout.write("No assets match.\n");
      return Promise.resolve(0);
    }
    ctx.stdout.write(formatTable(
      ["id", "collection", "kind", "asset", "state", ...(changes ? ["change"] : ["last seen"])],
      assets.map((a) => [
        a.id,
        a.collectionName,
        a.kind,
        assetLabel(a),
        a.deletedAt ? `${a.state}, deleted` : a.state,
        changes ? changes.get(a.id) ?? "" : a.lastSeen,
      ]),
      { color: ctx.color, width: ctx.width },
    ));
    if (assets.length < total) {
      ctx.stdout.write(`Showing ${assets.length} of ${total} assets; use --limit N (0: all).\n`);
    }
    return Promise.resolve(0);
  },
};

const show: Command = {
  path: ["asset", "show"],
  summary: "Show one asset",
  help: `Usage: retrovue asset show <asset> [--collection C] [--json]

<asset> is an asset id (see 'asset list') or an importer's external id;
--collection narrows an external id to one collection.
`,
  run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, { collection: { type: "string" } }, {
      minPositionals: 1,
      maxPositionals: 1,
      positionalName: "an <asset> (id or external id)",
    });
    const db = _openForReading(ctx);
    const collection = values.collection === undefined
      ? undefined
      : findCollection(db, values.collection, { sourceOption: false });
    const asset = resolveAsset(db, positionals[0], { collectionId: collection?.id });
    if (ctx.json) {
      writeJson(ctx, { status: "ok", asset });
      return Promise.resolve(0);
    }
    ctx.stdout.write(formatAsset(asset));
    return Promise.resolve(0);
  },
};

/** The asset commands, for the command table. */
export const commands: Command[] = [list, show];

/** The human `key: value` view of one asset. */
export function formatAsset(a: AssetRecord): string {
  const ids = Object.entries(a.externalIds).map(([k, v]) => `${k}:${v}`).join(", ");
  const fields: [string, string][] = [
    ["id", a.id],
    ["asset", assetLabel(a)],
    ["kind", a.kind],
    ["collection", `${a.collectionName} (${a.collectionId})`],
    ["source", `${a.sourceName} (${a.sourceId})`],
    ["external id", a.externalId],
    ["title", a.title || "-"],
  ];
  if (a.kind === "episode") {
    fields.push(["series", a.seriesTitle ?? "-"]);
    fields.push(["season", a.season === null ? "-" : String(a.season)]);
    fields.push([
      "episode",
      a.episode === null
        ? "-"
        : a.episodeEnd !== null && a.episodeEnd !== a.episode
        ? `${a.episode}-${a.episodeEnd}`
        : String(a.episode),
    ]);
  }
  fields.push(
    ["year", a.year === null ? "-" : String(a.year)],
    ["air date", a.airDate ?? "-"],
    [
      "duration",
      a.durationMs
        ? _duration(a.durationMs)
        : a.probedDurationMs
        ? `${_duration(a.probedDurationMs)} (probed)`
        : "-",
    ],
    ["external ids", ids || "-"],
    ["path", a.path ?? "-"],
    ["local path", a.localPath ?? "-"],
  );
  if (a.parts.length > 1) fields.push(["parts", a.parts.join(", ")]);
  fields.push(
    ["size", a.size === null ? "-" : `${a.size} bytes`],
    ["modified", a.modified ?? "-"],
    ["state", a.stateReason === null ? a.state : `${a.state}: ${a.stateReason}`],
    ..._techFields(a.tech, a.techSource),
    ["first seen", a.firstSeen],
    ["last seen", a.lastSeen],
    ["updated", a.updatedAt],
    ["deleted", a.deletedAt ?? "no"],
    ["fingerprint", a.fingerprint],
  );
  return formatFields(fields);
}

/**
 * Opens an existing catalog read-only, so that it never competes for the
 * write lock (except to upgrade a catalog from an older RetroVue, once); a
 * missing one is `DB_NOT_FOUND`.
 */
function _openForReading(ctx: CommandContext): DatabaseSync {
  return ctx.openDb({ readOnly: true });
}

/** The technical fields as `asset show` lines; none when nothing is known. */
function _techFields(tech: TechnicalMetadata | null, source: string | null): [string, string][] {
  if (tech === null) return [];
  const known = (...parts: (string | null | undefined | false)[]) =>
    parts.filter((p) => p !== null && p !== undefined && p !== false && p !== "").join(" ") ||
    "?";
  const v = tech.video;
  const fields: [string, string][] = [
    [
      "container",
      known(tech.container, tech.bitrate ? `· ${(tech.bitrate / 1e6).toFixed(1)} Mbit/s` : null),
    ],
    [
      "video",
      v
        ? known(
          v.codec,
          v.profile && `(${v.profile})`,
          v.width !== null && v.height !== null && `${v.width}x${v.height}`,
          v.frameRate !== null && `${v.frameRate} fps`,
          v.scanType,
          v.hdr,
        )
        : "-",
    ],
    [
      "audio",
      (tech.audio ?? []).map((t) =>
        known(t.codec, t.channels !== null && `${t.channels}ch`, t.language, t.default && "default")
      ).join(", ") || "-",
    ],
    [
      "subtitles",
      (tech.subtitles ?? []).map((t) =>
        known(t.codec, t.language, t.forced && "forced", t.external && "external")
      ).join(", ") || "-",
    ],
    ["tech from", source ?? "-"],
  ];
  return fields;
}

function _duration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor(total / 60) % 60;
  const s = total % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(s).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${m}:${ss}`;
}

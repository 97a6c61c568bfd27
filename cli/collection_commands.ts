/**
 * `collection …` commands: list, show, update (sync intent and path mappings).
 *
 * @module
 */

import {
  type CollectionRecord,
  getCollection,
  getPathMappings,
  getSource,
  listCollections,
  listSources,
  liveAssetCount,
  parsePathMapping,
  removePathMapping,
  setMaxRemovalPercent,
  setPathMapping,
  setSyncEnabled,
} from "../core/catalog.ts";
import { RetrovueError } from "../core/errors.ts";
import type { PathMapping } from "../core/path_mapping.ts";
import {
  countReadiness,
  DEFAULT_MAX_REMOVAL_PERCENT,
  listAttachedEnrichers,
  readinessJson,
  readinessText,
} from "../ingest/records.ts";
import { type Command, parseCommandArgs } from "./command.ts";
import { inertLine } from "./inert.ts";
import { formatFields, formatTable, writeJson } from "./output.ts";
import { checkLocalPaths, DEFAULT_PATH_SAMPLE, unmatchedMappingWarnings } from "./path_checks.ts";
import { collectionJson, collectionState, parseTypeArgs, writeOrDryRun } from "./views.ts";
import { findCollection, findSource } from "./lookup.ts";
import {
  effectiveInterval,
  formatInterval,
  intervalsOf,
  parseCollectionInterval,
  setCollectionInterval,
} from "../sync/settings.ts";

const SELECTOR = "a <collection> (id or name)";

const list: Command = {
  path: ["collection", "list"],
  summary: "List collections (optionally of one source)",
  help: `Usage: retrovue collection list [--source SOURCE] [--json]

Lists collections sorted by source name, then collection name, with their sync
intent, eligibility, path mappings and last ingest time.
`,
  run(ctx) {
    const { values } = parseCommandArgs(ctx, { source: { type: "string" } });
    const db = ctx.openDb();
    const source = values.source === undefined ? undefined : findSource(db, values.source);
    const names = new Map(listSources(db).map((s) => [s.id, s.name]));
    const collections = listCollections(db, { sourceId: source?.id });
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        collections: collections.map((c) => collectionJson(c, names.get(c.sourceId) ?? "")),
      });
      return Promise.resolve(0);
    }
    if (collections.length === 0) {
      ctx.stdout.write(
        source
          ? `Source '${
            inertLine(source.name)
          }' has no collections; run 'source discover ${source.id}'.\n`
          : "No collections. Run 'source discover <source>' first.\n",
      );
      return Promise.resolve(0);
    }
    ctx.stdout.write(formatTable(
      ["source", "name", "id", "kind", "state", "mappings", "last ingest"],
      collections.map((c) => [
        names.get(c.sourceId) ?? c.sourceId,
        c.name,
        c.id,
        c.kind,
        collectionState(c),
        String(c.pathMappings.length),
        c.lastIngestTime ?? "never",
      ]),
      { color: ctx.color, width: ctx.width },
    ));
    return Promise.resolve(0);
  },
};

const show: Command = {
  path: ["collection", "show"],
  summary: "Show a collection: state, locations, path mappings",
  help: `Usage: retrovue collection show <collection> [--source SOURCE] [--json]

<collection> is an id or an exact name (case-insensitive); --source narrows a
name to one source's collections.
`,
  run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, { source: { type: "string" } }, {
      minPositionals: 1,
      maxPositionals: 1,
      positionalName: SELECTOR,
    });
    const db = ctx.openDb();
    const scope = values.source === undefined ? undefined : findSource(db, values.source);
    const c = findCollection(db, positionals[0], { sourceId: scope?.id });
    const source = getSource(db, c.sourceId)!;
    const assets = liveAssetCount(db, c.id);
    const states = countReadiness(db, c.id);
    const enrichers = listAttachedEnrichers(db, c.id);
    const every = intervalsOf(db, c.id);
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        collection: {
          ...collectionJson(c, source.name),
          assetCount: assets,
          readiness: readinessJson(states),
          enrichers: enrichers.map((e) => ({ typeId: e.typeId, priority: e.priority })),
          syncEverySeconds: effectiveInterval(every.own, every.source),
        },
      });
      return Promise.resolve(0);
    }
    let out = formatFields([
      ["id", c.id],
      ["name", c.name],
      ["source", `${source.name} (${source.id})`],
      ["external id", c.externalId],
      ["kind", c.kind],
      ["sync", c.syncEnabled ? "enabled" : "disabled"],
      ["sync every", _syncEveryText(every)],
      ["ingestible", c.ingestible ? "yes" : `no: ${c.ingestibleReason ?? "unknown reason"}`],
      ["upstream", c.missingUpstream ? "missing (not seen by the last discovery)" : "present"],
      ["assets", String(assets)],
      ["readiness", readinessText(states)],
      ["last ingest", c.lastIngestTime ?? "never"],
      ["max removal", maxRemovalText(c.maxRemovalPercent)],
      ["locations", c.locations.length ? c.locations.join(", ") : "-"],
    ]);
    out += c.pathMappings.length
      ? "path mappings:\n" +
        formatTable(
          ["external", "local"],
          c.pathMappings.map((m) => [m.externalPrefix, m.localPrefix]),
        ).replace(/^(?=.)/gm, "  ")
      : "path mappings: none\n";
    out += `enrichers: ${
      enrichers.map((e) => `${e.typeId} (priority ${e.priority})`).join(", ") || "none"
    }\n`;
    ctx.stdout.write(out);
    return Promise.resolve(0);
  },
};

const update: Command = {
  path: ["collection", "update"],
  summary: "Enable/disable sync, manage path mappings and the removal limit of a collection",
  help: `Usage: retrovue collection update <collection> [--source SOURCE]
       [--sync-enable | --sync-disable] [--sync-every DURATION|off|inherit]
       [--path-mapping EXTERNAL=LOCAL]...
       [--remove-path-mapping EXTERNAL]... [--max-removal PCT|default]
       [--add-enricher TYPE [--priority N] [ENRICHER OPTIONS…]] [--remove-enricher TYPE]...
       [--dry-run] [--json]

  --sync-enable                   ingest this collection (refused when it is not ingestible)
  --sync-disable                  stop ingesting it
  --sync-every DURATION           'retrovue sync' runs a full ingest of it this often (6h,
                                  90m, 1h30m, 1d…); 'off': never, even when its source is
                                  scheduled; 'inherit': its source's --sync-every
  --path-mapping EXTERNAL=LOCAL   map the upstream prefix EXTERNAL to the absolute local
                                  prefix LOCAL (replaces an existing mapping of EXTERNAL)
  --remove-path-mapping EXTERNAL  remove the mapping of EXTERNAL
  --max-removal PCT               the removal guard's limit: a full ingest that would remove
                                  more than PCT percent (0-100) and more than 20 of the
                                  active assets is held back ('default': ${DEFAULT_MAX_REMOVAL_PERCENT})
  --add-enricher TYPE             run enricher TYPE (see 'enricher list-types') on this
                                  collection's assets after each ingest and on 'collection enrich'
  --priority N                    its run order, lower first (default 0)
  ENRICHER OPTIONS                that enricher's own flags, e.g. --ffprobe /opt/bin/ffprobe
                                  (see 'enricher list-types')
  --remove-enricher TYPE          stop running enricher TYPE here
  --dry-run                       show what would change; write nothing

Repeating what is already so succeeds quietly ("no changes"). A mapping whose
EXTERNAL prefix matches none of the collection's locations or known asset
paths is stored, with a warning naming the closest upstream prefix.
`,
  async run(ctx) {
    // With --add-enricher TYPE, that enricher's own flags (--ffprobe PATH) are options too.
    const typed = ctx.args.some((a) => /^--add-enricher(=|$)/.test(a))
      ? await (await import("./enrich_commands.ts")).addedEnricherParams(ctx)
      : undefined;
    const { values, positionals, raw } = parseTypeArgs(ctx, {
      source: { type: "string" },
      "sync-enable": { type: "boolean" },
      "sync-disable": { type: "boolean" },
      "sync-every": { type: "string" },
      "path-mapping": { type: "string", multiple: true },
      "remove-path-mapping": { type: "string", multiple: true },
      "max-removal": { type: "string" },
      "add-enricher": { type: "string", multiple: true },
      "remove-enricher": { type: "string", multiple: true },
      priority: { type: "string" },
      "dry-run": { type: "boolean" },
    }, { params: typed ?? [], minPositionals: 1, maxPositionals: 1, positionalName: SELECTOR });
    if (values["sync-enable"] && values["sync-disable"]) {
      throw new RetrovueError("USAGE", "give either --sync-enable or --sync-disable, not both");
    }
    const add: PathMapping[] = (values["path-mapping"] ?? []).map((text) =>
      parsePathMapping(checkMappingText("--path-mapping", text))
    );
    const removals = (values["remove-path-mapping"] ?? []).map((text) =>
      checkMappingText("--remove-path-mapping", text)
    );
    for (const r of removals) {
      if (r.trim() === "") {
        throw new RetrovueError("USAGE", "--remove-path-mapping needs an external prefix");
      }
    }
    const sync = values["sync-enable"] ? true : values["sync-disable"] ? false : undefined;
    const syncEvery = values["sync-every"] === undefined
      ? undefined
      : parseCollectionInterval(values["sync-every"]);
    const maxRemoval = values["max-removal"] === undefined
      ? undefined
      : parseMaxRemoval(values["max-removal"]);
    const enricherFlags = {
      add: values["add-enricher"],
      remove: values["remove-enricher"],
      priority: values.priority,
      raw,
    };
    const touchesEnrichers = [values["add-enricher"], values["remove-enricher"], values.priority]
      .some((v) => v !== undefined);
    if (
      sync === undefined && syncEvery === undefined && add.length === 0 &&
      removals.length === 0 && maxRemoval === undefined && !touchesEnrichers
    ) {
      throw new RetrovueError(
        "USAGE",
        "nothing to update; give --sync-enable, --sync-disable, --sync-every, --path-mapping, " +
          "--remove-path-mapping, --max-removal, --add-enricher or --remove-enricher " +
          "(see 'collection update --help')",
      );
    }
    const enrichers = touchesEnrichers
      ? await import("./enrich_commands.ts").then(async (m) => ({
        apply: m.applyEnricherChanges,
        plan: await m.planEnricherChanges(ctx, enricherFlags),
      }))
      : undefined;
    const dryRun = values["dry-run"] ?? false;
    const db = ctx.openDb({ dryRun });
    const scope = values.source === undefined ? undefined : findSource(db, values.source);
    const target = findCollection(db, positionals[0], { sourceId: scope?.id });
    const opts = { now: ctx.now };
    const absent: string[] = [];
    const { changes, after } = writeOrDryRun(db, () => {
      const changes: string[] = [];
      for (const r of removals) {
        if (removePathMapping(db, target.id, { externalPrefix: r, ...opts })) {
          changes.push(`removed path mapping ${r}`);
        } else absent.push(r);
      }
      for (const m of add) {
        if (setPathMapping(db, target.id, { ...m, ...opts })) {
          changes.push(`path mapping ${m.externalPrefix} -> ${m.localPrefix}`);
        }
      }
      if (sync !== undefined && setSyncEnabled(db, target.id, { enabled: sync, ...opts })) {
        changes.push(sync ? "sync enabled" : "sync disabled");
      }
      if (
        syncEvery !== undefined &&
        setCollectionInterval(db, { collectionId: target.id, seconds: syncEvery })
      ) {
        changes.push(
          syncEvery === null
            ? "sync every: as its source"
            : syncEvery === 0
            ? "sync every: off"
            : `sync every ${formatInterval(syncEvery)}`,
        );
      }
      if (
        maxRemoval !== undefined &&
        setMaxRemovalPercent(db, target.id, { percent: maxRemoval, ...opts })
      ) {
        changes.push(`max removal ${maxRemovalText(maxRemoval)}`);
      }
      if (enrichers) {
        changes.push(...enrichers.apply(db, target.id, { plan: enrichers.plan, now: ctx.now }));
      }
      return { changes, after: getCollection(db, target.id) as CollectionRecord };
    }, { dryRun });
    const source = getSource(db, target.sourceId)!;
    const warnings = [
      // Nothing to remove is no error (a script may remove twice), but worth a word.
      ...absent.map((r) => `no path mapping of ${r} on this collection: nothing removed`),
      ...unmatchedMappingWarnings(db, after, { mappings: add }),
      ...(enrichers?.plan.warnings ?? []),
    ];
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        dryRun,
        changed: changes,
        warnings,
        collection: collectionJson(after, source.name),
      });
      return Promise.resolve(0);
    }
    for (const w of warnings) ctx.stderr.write(`Warning: ${inertLine(w)}\n`);
    ctx.stdout.write(
      changes.length === 0
        ? `Collection '${inertLine(after.name)}' (${after.id}): no changes.\n`
        : `${dryRun ? "Dry run: would update" : "Updated"} collection '${
          inertLine(after.name)
        }' (${after.id}): ${inertLine(changes.join("; "))}.\n${
          dryRun ? "Nothing was written.\n" : ""
        }`,
    );
    return Promise.resolve(0);
  },
};

/** A collection's `--sync-every` for `collection show`: `6h`, `6h (its source's)`, `off`. */
function _syncEveryText(every: { own: number | null; source: number | null }): string {
  if (every.own === 0) return "off";
  if (every.own !== null) return formatInterval(every.own);
  return every.source === null ? "off" : `${formatInterval(every.source)} (its source's)`;
}

/** The longest `--path-mapping` value (two paths of up to 4096 characters). */
export const MAX_MAPPING_LENGTH = 8193;

/**
 * Refuses a path mapping with control characters or line breaks, or longer
 * than {@link MAX_MAPPING_LENGTH}: no upstream path can match it, and it
 * would corrupt tables and logs. Returns `text`.
 */
export function checkMappingText(flag: string, text: string): string {
  if (text.length > MAX_MAPPING_LENGTH) {
    throw new RetrovueError("USAGE", `${flag} is longer than ${MAX_MAPPING_LENGTH} characters`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    throw new RetrovueError("USAGE", `${flag} must not contain control characters or line breaks`);
  }
  return text;
}

/**
 * Parses `--max-removal`: a whole percentage 0–100 (a trailing `%` is
 * accepted), or `default` (null: back to the default limit). Throws `USAGE`.
 */
export function parseMaxRemoval(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === "default") return null;
  const m = /^(\d{1,3})%?$/.exec(t);
  if (!m || Number(m[1]) > 100) {
    throw new RetrovueError(
      "USAGE",
      `--max-removal must be a whole percentage from 0 to 100, or 'default'; got '${text}'`,
    );
  }
  return Number(m[1]);
}

/** How `show` and `update` print a removal limit: `70%`, or `50% (default)`. */
export function maxRemovalText(percent: number | null): string {
  return percent === null ? `${DEFAULT_MAX_REMOVAL_PERCENT}% (default)` : `${percent}%`;
}

const checkPaths: Command = {
  path: ["collection", "check-paths"],
  summary: "Check that a collection's assets have local files (samples them)",
  help: `Usage: retrovue collection check-paths <collection> [--source SOURCE] [--sample N] [--json]

Counts the collection's live assets whose upstream path no path mapping
matches (when it has mappings), and looks on disk for the local files of
--sample N assets (default ${DEFAULT_PATH_SAMPLE}, spread over the collection; 0: all of
them). Lists each missing file with its upstream path and whether a mapping
produced it. Exit 0 when every checked file exists and every path is mapped,
2 ("partial") otherwise. Reads only; never contacts the importer.

  --sample N   how many assets to look at (0: all)
  --source S   narrow a collection name to one source
`,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, {
      source: { type: "string" },
      sample: { type: "string" },
    }, { minPositionals: 1, maxPositionals: 1, positionalName: SELECTOR });
    let sample = DEFAULT_PATH_SAMPLE;
    if (values.sample !== undefined) {
      if (!/^\d{1,9}$/.test(values.sample)) {
        throw new RetrovueError(
          "USAGE",
          `--sample must be a whole number ≥ 0, not '${inertLine(values.sample)}'`,
        );
      }
      sample = Number(values.sample) === 0 ? Number.MAX_SAFE_INTEGER : Number(values.sample);
    }
    const db = ctx.openDb({ readOnly: true });
    const scope = values.source === undefined ? undefined : findSource(db, values.source);
    const c = findCollection(db, positionals[0], { sourceId: scope?.id });
    const mappings = getPathMappings(db, c.id);
    const report = await checkLocalPaths(db, c.id, { mappings, sample });
    const ok = report.missing.length === 0 && report.unmapped === 0;
    if (ctx.json) {
      writeJson(ctx, {
        status: ok ? "ok" : "partial",
        collectionId: c.id,
        collectionName: c.name,
        ...report,
      });
      return ok ? 0 : 2;
    }
    let out = `Collection '${inertLine(c.name)}' (${c.id}): ${report.withPath} asset(s) with ` +
      `a path; ${report.checked} local file(s) checked, ${report.missing.length} missing.\n`;
    if (report.unmapped > 0) {
      out += `${report.unmapped} asset(s) match no path mapping: their upstream path is used as ` +
        `is (see 'collection show ${c.id}').\n`;
    }
    if (report.missing.length > 0) {
      out += formatTable(
        ["asset", "local path", "upstream path", "mapped"],
        report.missing.map((m) => [m.assetId, m.localPath, m.path, m.mapped ? "yes" : "no"]),
      );
    }
    if (mappings.length === 0 && report.missing.length > 0) {
      out += "The collection has no path mappings; add one with 'collection update " +
        `${c.id} --path-mapping EXTERNAL=LOCAL'.\n`;
    }
    ctx.stdout.write(out);
    return ok ? 0 : 2;
  },
};

/** Every `collection …` command. */
export const collectionCommands: Command[] = [list, show, update, checkPaths];

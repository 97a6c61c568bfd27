/**
 * `source …` commands: list-types, add, list, show, update, remove, discover.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { secretValues, validateConfig } from "../core/config.ts";
import { openMemoryDatabase } from "../core/db.ts";
import type { ConnectionInfo, ImporterConfig, ParamSpec } from "../core/contract.ts";
import {
  checkSourceName,
  collectionCounts,
  deleteSource,
  type DiscoveryResult,
  getSource,
  insertSource,
  listCollections,
  listSources,
  liveAssetCounts,
  type SourceRecord,
  updateSource,
  upsertDiscoveredCollections,
} from "../core/catalog.ts";
import { RetrovueError } from "../core/errors.ts";
import { attachDefaultEnrichers } from "../ingest/records.ts";
import {
  DEFAULT_SEARCH_PATH,
  deriveSandbox,
  describeIsolation,
  findOnPath,
  refuseProtected,
  type Registry,
  type ValidCollectionInfo,
} from "../registry/mod.ts";
import { type Command, type CommandContext, parseCommandArgs } from "./command.ts";
import { catalogPaths } from "./context.ts";
import { inertLine } from "./inert.ts";
import { formatFields, formatTable, style, writeJson } from "./output.ts";
import { didYouMean } from "./suggest.ts";
import {
  type AvailableType,
  availableTypeIds,
  collectionJson,
  collectionState,
  displayConfig,
  importerStatus,
  isolationJson,
  paramHelp,
  parseTypeArgs,
  readSecretInputs,
  requireImporter,
  sourceJson,
  statusText,
  withClient,
  writeOrDryRun,
} from "./views.ts";
import { findSource } from "./lookup.ts";
import { grantsText, sourceGrants } from "./grants.ts";
import {
  formatInterval,
  hasWebhookSecret,
  newWebhookSecret,
  parseInterval,
  setSourceInterval,
  sourceInterval,
  WEBHOOK_SECRET_HEADER,
} from "../sync/settings.ts";

// ------------------------------------------------------------ list-types

const listTypes: Command = {
  path: ["source", "list-types"],
  summary: "List importer types: status, capabilities and options",
  help: `Usage: retrovue source list-types [--json]

Lists every importer module found in importers/ and in the folders of
RETROVUE_PLUGIN_PATH (':'-separated), in a stable order: type id, display
name, module file, status (available, or broken with the reason),
capabilities (filters pushed down per collection kind) and options. The
first line says how plugin hosts are isolated on this machine: OS isolation
(bubblewrap) around Deno's permissions, or Deno's permissions only and why
(RETROVUE_ISOLATION chooses: auto, required or off).
`,
  async run(ctx) {
    parseCommandArgs(ctx, {});
    const registry = await ctx.loadRegistry();
    // Only reported: the registry starts no plugin host when every manifest is cached.
    const isolation = await ctx.probedIsolation();
    const types = registry.types.map((t) => {
      if (t.status === "broken") {
        return {
          typeId: t.typeId ?? null,
          displayName: null,
          file: t.file,
          status: "broken" as const,
          reason: t.reason,
          version: null,
          description: null,
          capabilities: null,
          params: [],
        };
      }
      const m = t.manifest;
      return {
        typeId: t.typeId,
        displayName: m.displayName,
        file: t.file,
        status: "available" as const,
        reason: null,
        version: m.version ?? null,
        description: m.description ?? null,
        capabilities: m.capabilities,
        params: m.params.map((p) => ({
          name: p.name,
          flag: p.flag,
          kind: p.kind,
          description: p.description,
          required: p.required ?? false,
          multiple: p.multiple ?? false,
          named: p.named ?? false,
          secret: p.secret ?? false,
          default: p.default === undefined ? null : p.secret ? "***" : p.default,
          grants: p.grants ?? null,
          min: p.min ?? null,
          max: p.max ?? null,
        })),
      };
    });
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        isolation: isolationJson(isolation),
        types,
      });
      return 0;
    }
    const head = `Isolation: ${inertLine(describeIsolation(isolation))}\n\n`;
    if (types.length === 0) {
      ctx.stdout.write(`${head}No importer types found.\n`);
      return 0;
    }
    const s = style(ctx.color);
    const out: string[] = [head.trimEnd(), ""];
    for (const t of types) {
      const status = t.status === "available" ? s.green("available") : s.red("broken");
      // A broken module's type id and any display name are the plugin's words: inert
      // before they are styled or joined into our line.
      const typeId = inertLine(t.typeId ?? "?");
      const displayName = inertLine(t.displayName ?? "");
      out.push(`${s.bold(typeId)}  ${displayName}  ${status}`.replace(/ {3,}/, "  "));
      const fields: [string, string][] = [["file", t.file]];
      if (t.status === "broken") fields.push(["reason", t.reason ?? ""]);
      if (t.capabilities) {
        const caps = Object.entries(t.capabilities.filters)
          .map(([kind, filters]) => `${kind}: ${(filters ?? []).join(", ") || "none"}`);
        fields.push(["capabilities", caps.join("; ") || "no filters"]);
      }
      out.push(formatFields(fields).replace(/^(?=.)/gm, "  ").trimEnd());
      if (t.params.length) {
        out.push("  params:");
        out.push(
          formatTable(
            ["flag", "kind", "required", "default", "secret", "grants"],
            t.params.map((p) => [
              p.flag,
              p.kind,
              p.required ? "yes" : "no",
              p.default === null ? "-" : String(p.default),
              p.secret ? "yes" : "no",
              p.grants ?? "-",
            ]),
            { color: ctx.color, width: ctx.width },
          ).replace(/^(?=.)/gm, "    ").trimEnd(),
        );
      }
      out.push("");
    }
    ctx.stdout.write(out.join("\n"));
    return 0;
  },
};

// ------------------------------------------------------------------- add

const ADD_OPTIONS = {
  type: { type: "string" },
  name: { type: "string" },
  discover: { type: "boolean" },
  "no-validate": { type: "boolean" },
  "dry-run": { type: "boolean" },
} as const;

const ADD_HELP_COMMON = `Common options:
  --type TYPE     importer type (see 'source list-types'; required)
  --name NAME     unique source name, case-insensitive (required)
  --discover      also list the source's collections and store them in the same transaction
  --no-validate   skip the connection check (validateConnection) before saving
  --dry-run       do everything except writing to the database
  --json          print one JSON document
`;

function _findTypeArg(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") break;
    if (args[i] === "--type") return args[i + 1];
    if (args[i].startsWith("--type=")) return args[i].slice("--type=".length);
  }
  return undefined;
}

function _unknownType(registry: Registry, typeId: string | undefined): RetrovueError {
  const available = availableTypeIds(registry);
  const list = available.length ? available.join(", ") : "none (no importer is installed)";
  if (typeId === undefined) {
    return new RetrovueError("USAGE", `'source add' needs --type; available types: ${list}`);
  }
  const broken = registry.types.find((t) => t.typeId === typeId && t.status === "broken");
  if (broken && broken.status === "broken") {
    return new RetrovueError(
      "IMPORTER_UNAVAILABLE",
      `importer type '${typeId}' is broken: ${broken.reason}; available types: ${list}`,
    );
  }
  return new RetrovueError(
    "USAGE",
    `unknown source type '${typeId}'${didYouMean(typeId, available)}; available types: ${list}`,
  );
}

/**
 * An unknown option of `source add --type T` that another type declares
 * (Jellyfin's `--api-key` given to Plex): says whose it is and what T takes
 * for a secret. Other errors pass through unchanged.
 */
function _foreignOption(error: unknown, registry: Registry, info: AvailableType): unknown {
  const option = error instanceof RetrovueError && error.code === "USAGE"
    ? (error.details as { option?: string } | undefined)?.option
    : undefined;
  if (option === undefined) return error;
  const owners = registry.types.filter((t) =>
    t.status === "available" && t.typeId !== info.typeId &&
    t.manifest.params.some((p) => p.flag === option)
  ).map((t) => t.typeId!);
  if (owners.length === 0) return error;
  const secrets = info.manifest.params.filter((p) => p.secret).map((p) => p.flag);
  return new RetrovueError(
    "USAGE",
    `option '${option}' belongs to type ${owners.join(", ")}, not '${info.typeId}'` +
      (secrets.length ? `; '${info.typeId}' takes its secret as ${secrets.join(", ")}` : "") +
      `; see 'source add --type ${info.typeId} --help'`,
    { details: { option } },
  );
}

async function _addHelp(ctx: CommandContext): Promise<string> {
  const typeId = _findTypeArg(ctx.args);
  const head = `Usage: retrovue source add --type TYPE --name NAME [type options] [--discover]
       [--no-validate] [--dry-run] [--json]

Adds a source. Type options are checked against the type's parameter spec,
then (unless --no-validate) the connection is checked in the sandbox before
anything is written. 'retrovue source add --type TYPE --help' lists TYPE's options.
`;
  let registry: Registry;
  try {
    registry = await ctx.loadRegistry();
  } catch (error) {
    return `${head}\n${ADD_HELP_COMMON}\n(importer types could not be loaded: ${
      (error as Error).message
    })\n`;
  }
  const info = typeId === undefined ? undefined : registry.get(typeId);
  // Help for a type that is not there is bad input, as adding one is: the same one-line error.
  if (typeId !== undefined && !info) throw _unknownType(registry, typeId);
  if (!info) {
    const types = availableTypeIds(registry);
    return `${head}\n${ADD_HELP_COMMON}\nAvailable types: ${types.join(", ") || "none"}\n`;
  }
  const m = info.manifest;
  // The plugin's words, on one line, inert.
  const about = inertLine(
    `${m.displayName}${m.version ? ` ${m.version}` : ""}${
      m.description ? `: ${m.description}` : ""
    }`,
  );
  return `Usage: retrovue source add --type ${info.typeId} --name NAME [options]

${about}

Options for type '${info.typeId}':
${paramHelp(m.params)}
${ADD_HELP_COMMON}`;
}

interface ConnectionResult {
  connection: ConnectionInfo | null;
  discovered: ValidCollectionInfo[] | null;
}

async function _contact(
  ctx: CommandContext,
  target: { registry: Registry; info: AvailableType; config: ImporterConfig },
  what: { validate: boolean; discover: boolean },
): Promise<ConnectionResult> {
  if (!what.validate && !what.discover) return { connection: null, discovered: null };
  return await withClient(ctx, async (client) => {
    const connection = what.validate
      ? await client.validateConnection({ signal: ctx.signal })
      : null;
    const discovered = what.discover
      ? await client.listCollections({
        signal: ctx.signal,
        onNotice: (n) => {
          // Progress hints and unlisted prefixes are for ingests; discovery shows neither.
          if (n.kind === "total" || n.kind === "unlisted") return;
          ctx.stderr.write(`warning: ${n.kind === "warn" ? n.message : n.item}\n`);
        },
      })
      : null;
    return { connection, discovered };
  }, target);
}

function _discoveryJson(result: DiscoveryResult, sourceName: string) {
  return {
    added: result.added.map((c) => collectionJson(c, sourceName)),
    updated: result.updated.map((c) => collectionJson(c, sourceName)),
    rekeyed: result.rekeyed.map((c) => collectionJson(c, sourceName)),
    missing: result.missing.map((c) => collectionJson(c, sourceName)),
    unchanged: result.unchanged.map((c) => collectionJson(c, sourceName)),
  };
}

function _discoveryText(result: DiscoveryResult, width: number | null): string {
  const rows = [
    ...result.added.map((c) => ["added", c.name, c.id, c.kind, collectionState(c)]),
    ...result.updated.map((c) => [
      result.rekeyed.some((r) => r.id === c.id) ? "re-keyed" : "updated",
      c.name,
      c.id,
      c.kind,
      collectionState(c),
    ]),
    ...result.missing.map((c) => ["missing", c.name, c.id, c.kind, collectionState(c)]),
  ];
  const summary = `Collections: ${result.added.length} added, ${result.updated.length} updated, ` +
    `${result.missing.length} missing upstream, ${result.unchanged.length} unchanged.\n`;
  return rows.length
    ? summary + formatTable(["change", "name", "id", "kind", "state"], rows, { width })
    : summary;
}

/**
 * Throws `CONFIG_INVALID` when `config` grants a path holding the catalog:
 * a source may never read it, whether its connection is checked or not
 * (`--no-validate`), as opening it would refuse later.
 */
function _refuseCatalogGrant(
  ctx: CommandContext,
  params: readonly ParamSpec[],
  config: ImporterConfig,
): void {
  refuseProtected(
    deriveSandbox(params, config).permissions.read || [],
    catalogPaths(() => ctx.dbPath),
  );
}

/**
 * Has the context scrub the secrets of `sources` from all it prints: a
 * secret param is shown masked, but the same text may sit inside another
 * value (a token in the path of a base URL).
 */
function _hideSecrets(
  ctx: CommandContext,
  registry: Registry,
  sources: readonly SourceRecord[],
): void {
  for (const source of sources) {
    const params = registry.get(source.typeId)?.manifest.params;
    if (params) ctx.addSecrets(secretValues(params, source.config));
  }
}

/** The catalog when it exists, else undefined (a DB_NOT_FOUND is no error here). */
function _existingCatalog(ctx: CommandContext, dryRun: boolean): DatabaseSync | undefined {
  try {
    return ctx.openDb({ dryRun });
  } catch (error) {
    if (error instanceof RetrovueError && error.code === "DB_NOT_FOUND") return undefined;
    throw error;
  }
}

function _connectionText(connection: ConnectionInfo | null): string {
  if (!connection) return "";
  // The server's words, on our line: one line, inert.
  const parts = [connection.serverName, connection.version && `version ${connection.version}`]
    .filter(Boolean).map((part) => inertLine(String(part)));
  return `Connection OK${parts.length ? ` (${parts.join(", ")})` : ""}.\n`;
}

const add: Command = {
  path: ["source", "add"],
  summary: "Add a source (validates its options and connection first)",
  help: _addHelp,
  async run(ctx) {
    const typeId = _findTypeArg(ctx.args);
    const registry = await ctx.loadRegistry();
    const info = typeId === undefined ? undefined : registry.get(typeId);
    if (!info) throw _unknownType(registry, typeId);
    let parsed;
    try {
      parsed = parseTypeArgs(ctx, ADD_OPTIONS, { params: info.manifest.params });
    } catch (error) {
      throw _foreignOption(error, registry, info);
    }
    const { values } = parsed;
    if (values.name === undefined) {
      throw new RetrovueError("USAGE", "'source add' needs --name NAME");
    }
    const name = checkSourceName(values.name);
    const raw = await readSecretInputs(ctx, { params: info.manifest.params, ...parsed });
    const config = validateConfig(info.manifest.params, raw, { cwd: ctx.cwd });
    _refuseCatalogGrant(ctx, info.manifest.params, config);
    // Only a source added makes the catalog: a dry run, or an add whose checks fail, leaves
    // no file where there was none.
    const existing = _existingCatalog(ctx, values["dry-run"] ?? false);
    // Fail on a taken name before contacting anything.
    const taken = existing &&
      listSources(existing).find((s) => s.name.toLowerCase() === name.toLowerCase());
    if (taken) {
      throw new RetrovueError(
        "CONFLICT",
        `a source named '${taken.name}' already exists (${taken.id})`,
      );
    }
    const { connection, discovered } = await _contact(ctx, { registry, info, config }, {
      validate: !values["no-validate"],
      discover: values.discover ?? false,
    });
    const dryRun = values["dry-run"] ?? false;
    const db = existing ??
      (dryRun ? openMemoryDatabase({ now: ctx.now }) : ctx.openDb({ create: true }));
    const { source, discovery } = writeOrDryRun(db, () => {
      const source = insertSource(db, { name, typeId: info.typeId, config }, { now: ctx.now });
      const discovery = discovered
        ? upsertDiscoveredCollections(db, source.id, { found: discovered, now: ctx.now })
        : null;
      if (discovery) _attachDefaultEnrichers(ctx, db, source.typeId, discovery);
      return { source, discovery };
    }, { dryRun });
    const status = importerStatus(registry, source.typeId);
    const grants = sourceGrants(info.manifest.params, source.config);
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        dryRun,
        source: { ...sourceJson(source, { status, params: info.manifest.params }), grants },
        connection,
        discovery: discovery ? _discoveryJson(discovery, source.name) : null,
      });
      return 0;
    }
    ctx.stdout.write(
      `${dryRun ? "Dry run: would add" : "Added"} source '${source.name}' (${source.id}), ` +
        `type ${source.typeId}.\n` + `Grants: ${grantsText(grants)}\n` +
        _connectionText(connection) +
        (discovery ? _discoveryText(discovery, ctx.width) : "") +
        (dryRun ? "Nothing was written.\n" : ""),
    );
    return 0;
  },
};

// ------------------------------------------------------------------ list

const list: Command = {
  path: ["source", "list"],
  summary: "List sources with their importer status and collections",
  help: `Usage: retrovue source list [--type TYPE] [--json]

Lists sources sorted by name then id, with their importer status
('available', or 'unavailable: importer type 'x' is not installed') and
their enabled/total collections. Never contacts an importer.
`,
  async run(ctx) {
    const { values } = parseCommandArgs(ctx, { type: { type: "string" } });
    const db = ctx.openDb();
    const sources = listSources(db, { typeId: values.type });
    const registry = await ctx.loadRegistry();
    _hideSecrets(ctx, registry, sources);
    const counts = collectionCounts(db);
    const rows = sources.map((s) => ({
      source: s,
      status: importerStatus(registry, s.typeId),
      counts: counts.get(s.id) ?? { enabled: 0, total: 0 },
    }));
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        sources: rows.map((r) => ({
          ...sourceJson(r.source, {
            status: r.status,
            params: registry.get(r.source.typeId)?.manifest.params,
          }),
          collectionCounts: r.counts,
        })),
      });
      return 0;
    }
    if (rows.length === 0) {
      ctx.stdout.write(
        values.type === undefined
          ? "No sources. Add one with 'source add --type TYPE --name NAME …'.\n"
          : `No sources of type '${values.type}'.\n`,
      );
      return 0;
    }
    const s = style(ctx.color);
    ctx.stdout.write(formatTable(
      ["name", "id", "type", "status", "collections"],
      rows.map((r) => [
        r.source.name,
        r.source.id,
        r.source.typeId,
        r.status.status === "available"
          ? s.green("available")
          : s.red(inertLine(statusText(r.status))),
        `${r.counts.enabled}/${r.counts.total} enabled`,
      ]),
      { color: ctx.color, width: ctx.width },
    ));
    return 0;
  },
};

// ------------------------------------------------------------------ show

const show: Command = {
  path: ["source", "show"],
  summary: "Show a source: config (secrets masked), status and collections",
  help: `Usage: retrovue source show <source> [--json]

<source> is an id or an exact name (case-insensitive). Secrets are shown as ***;
when the source's importer is not installed every config value is masked.
`,
  async run(ctx) {
    const { positionals } = parseCommandArgs(ctx, {}, {
      minPositionals: 1,
      maxPositionals: 1,
      positionalName: "a <source> (id or name)",
    });
    const db = ctx.openDb();
    const source = findSource(db, positionals[0]);
    const registry = await ctx.loadRegistry();
    const params = registry.get(source.typeId)?.manifest.params;
    _hideSecrets(ctx, registry, [source]);
    const status = importerStatus(registry, source.typeId);
    const collections = listCollections(db, { sourceId: source.id });
    const grants = params ? sourceGrants(params, source.config) : null;
    const every = sourceInterval(db, source.id);
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        source: {
          ...sourceJson(source, { status, params }),
          grants,
          collections: collections.map((c) => collectionJson(c, source.name)),
          syncEverySeconds: every,
          webhookSecretSet: hasWebhookSecret(db, source.id),
        },
      });
      return 0;
    }
    const config = displayConfig(source, params);
    const flagOf = (key: string) => params?.find((p) => p.name === key)?.flag ?? key;
    const fields: [string, string][] = [
      ["id", source.id],
      ["name", source.name],
      ["type", source.typeId],
      ["status", statusText(status)],
      ["grants", grants ? grantsText(grants) : "unknown (the importer is not installed)"],
      ["sync every", every === null ? "off" : formatInterval(every)],
      ["webhook secret", hasWebhookSecret(db, source.id) ? "set" : "none"],
      ["created", source.createdAt],
      ["updated", source.updatedAt],
    ];
    let out = formatFields(fields) + "config:\n";
    const entries = Object.entries(config);
    out += entries.length
      ? formatFields(
        entries.map(([k, v]) => [flagOf(k), Array.isArray(v) ? v.join(", ") : String(v)]),
      ).replace(/^(?=.)/gm, "  ")
      : "  (empty)\n";
    out += collections.length
      ? `collections (${
        collections.filter((c) => c.syncEnabled).length
      }/${collections.length} enabled):\n` +
        formatTable(
          ["name", "id", "kind", "state"],
          collections.map((c) => [c.name, c.id, c.kind, collectionState(c)]),
          { color: ctx.color },
        ).replace(/^(?=.)/gm, "  ")
      : "collections: none (run 'source discover')\n";
    ctx.stdout.write(out);
    return 0;
  },
};

// ---------------------------------------------------------------- update

const UPDATE_OPTIONS = {
  name: { type: "string" },
  "sync-every": { type: "string" },
  "webhook-secret": { type: "string" },
  type: { type: "string" },
  "no-validate": { type: "boolean" },
  "dry-run": { type: "boolean" },
} as const;

const update: Command = {
  path: ["source", "update"],
  summary: "Rename a source or change its options (validated like add)",
  help: async (ctx) => {
    const head = `Usage: retrovue source update <source> [--name NAME] [type options]
       [--sync-every DURATION|off] [--webhook-secret new] [--no-validate] [--dry-run]
       [--json]

The id and type never change. A changed config is validated like 'source add'
(options, then the connection unless --no-validate) before anything is written.
Options not given keep their current values.

  --sync-every DURATION   'retrovue sync' runs a full ingest of each of the
                          source's sync-enabled collections this often: 6h, 90m,
                          1h30m, 1d…; 'off' unschedules (see docs/sync.md)
  --webhook-secret new    generate the secret its webhooks must carry to
                          'sync --listen' (POST /hooks/<source-id>); shown once,
                          only its hash is kept; replaces the previous one
`;
    const selector = ctx.args.find((a) => !a.startsWith("-"));
    if (!selector) return head + "\nType options: see 'source add --type TYPE --help'.\n";
    try {
      const source = findSource(ctx.openDb({ readOnly: true }), selector);
      const info = (await ctx.loadRegistry()).get(source.typeId);
      if (info) {
        return `${head}\nOptions for type '${info.typeId}':\n${paramHelp(info.manifest.params)}`;
      }
    } catch {
      // Fall back to the generic help.
    }
    return head + "\nType options: see 'source add --type TYPE --help'.\n";
  },
  async run(ctx) {
    const pre = ctx.args.find((a) => !a.startsWith("-"));
    // Opened before the type's options can be parsed: a dry run writes nothing, not even an upgrade.
    const db = ctx.openDb({ dryRun: ctx.args.some((a) => /^--dry-run(?:=|$)/.test(a)) });
    const registry = await ctx.loadRegistry();
    const selectorSource = pre === undefined ? undefined : findSource(db, pre);
    const info = selectorSource ? registry.get(selectorSource.typeId) : undefined;
    const params = info?.manifest.params ?? [];
    let parsed;
    try {
      parsed = parseTypeArgs(ctx, UPDATE_OPTIONS, {
        params,
        minPositionals: 1,
        maxPositionals: 1,
        positionalName: "a <source> (id or name)",
      });
    } catch (error) {
      if (selectorSource && !info && error instanceof RetrovueError && error.code === "USAGE") {
        requireImporter(registry, selectorSource);
      }
      // Another type's option (`--api-key` for a Plex source) says whose it is, as in `add`.
      throw info ? _foreignOption(error, registry, info) : error;
    }
    const { values, positionals } = parsed;
    const raw = await readSecretInputs(ctx, { params, ...parsed });
    const source = findSource(db, positionals[0]);
    if (values.type !== undefined) {
      throw new RetrovueError(
        "USAGE",
        "a source's type never changes; remove it and add a new source instead",
      );
    }
    const changed: string[] = [];
    let config: ImporterConfig | undefined;
    if (Object.keys(raw).length > 0) {
      const available = requireImporter(registry, source);
      config = validateConfig(available.manifest.params, raw, {
        cwd: ctx.cwd,
        base: source.config,
      });
      ctx.addSecrets(
        available.manifest.params.filter((p) => p.secret).flatMap((p) => {
          const v = source.config[p.name];
          return v === undefined ? [] : Array.isArray(v) ? v : [String(v)];
        }),
      );
      for (const p of available.manifest.params) {
        if (JSON.stringify(config[p.name]) !== JSON.stringify(source.config[p.name])) {
          changed.push(p.flag);
        }
      }
      _refuseCatalogGrant(ctx, available.manifest.params, config);
      if (changed.length && !values["no-validate"]) {
        await _contact(ctx, { registry, info: available, config }, {
          validate: true,
          discover: false,
        });
      }
    }
    const name = values.name === undefined ? undefined : checkSourceName(values.name);
    if (name !== undefined && name !== source.name) changed.unshift("--name");
    const syncEvery = values["sync-every"] === undefined
      ? undefined
      : parseInterval(values["sync-every"]);
    const rotate = _webhookSecretFlag(values["webhook-secret"]);
    const dryRun = values["dry-run"] ?? false;
    let secret: string | null = null;
    const updated = writeOrDryRun(db, () => {
      const row = updateSource(db, source.id, { name, config, now: ctx.now });
      if (
        syncEvery !== undefined &&
        setSourceInterval(db, { sourceId: source.id, seconds: syncEvery })
      ) {
        changed.push("--sync-every");
      }
      if (rotate) {
        secret = newWebhookSecret(db, source.id);
        changed.push("--webhook-secret");
      }
      return row;
    }, { dryRun });
    // A dry run stored nothing, so its secret would never work: it is not shown.
    const shown: string | null = dryRun ? null : secret;
    const status = importerStatus(registry, source.typeId);
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        dryRun,
        changed,
        source: sourceJson(updated, { status, params: info?.manifest.params }),
        ...(shown === null ? {} : { webhookSecret: shown, hookPath: `/hooks/${updated.id}` }),
      });
      return 0;
    }
    ctx.stdout.write(
      changed.length === 0
        ? `Source '${updated.name}' (${updated.id}): no changes.\n`
        : `${
          dryRun ? "Dry run: would update" : "Updated"
        } source '${updated.name}' (${updated.id}): ${changed.join(", ")}.\n${
          dryRun ? "Nothing was written.\n" : ""
        }`,
    );
    if (shown !== null) {
      ctx.stdout.write(
        `Webhook secret (shown this once; only its hash is kept): ${shown}\n` +
          `Post events to /hooks/${updated.id} on 'sync --listen', with the header ` +
          `${WEBHOOK_SECRET_HEADER}: <secret>, or ?secret=<secret> where the server takes only ` +
          "a URL (Plex, Emby); see docs/sync_webhooks.md.\n",
      );
    }
    return 0;
  },
};

/** `--webhook-secret`'s one value, `new`; false when not given. */
function _webhookSecretFlag(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value.trim().toLowerCase() === "new") return true;
  throw new RetrovueError(
    "USAGE",
    "--webhook-secret takes 'new' (a secret is generated and shown once, never chosen)",
  );
}

// ---------------------------------------------------------------- remove

const remove: Command = {
  path: ["source", "remove"],
  summary: "Remove a source and its collections (asks first)",
  help: `Usage: retrovue source remove <source> [--yes] [--force] [--dry-run] [--json]

Removes the source with its collections and path mappings. Refuses while its
collections still hold assets unless --force (which removes the assets too).
Asks for confirmation on a terminal; elsewhere --yes (-y) is required.
`,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, {
      yes: { type: "boolean", short: "y" },
      force: { type: "boolean" },
      "dry-run": { type: "boolean" },
    }, { minPositionals: 1, maxPositionals: 1, positionalName: "a <source> (id or name)" });
    const dryRun = values["dry-run"] ?? false;
    const db = ctx.openDb({ dryRun });
    const source = findSource(db, positionals[0]);
    const assets = liveAssetCounts(db, source.id);
    const assetTotal = [...assets.values()].reduce((a, b) => a + b, 0);
    const collectionTotal = collectionCounts(db).get(source.id)?.total ?? 0;
    if (assetTotal > 0 && !values.force) {
      throw new RetrovueError(
        "CONFLICT",
        `source '${source.name}' (${source.id}) still has ${assetTotal} assets in ` +
          `${assets.size} collections; pass --force to remove them too`,
        { details: { assets: assetTotal, collections: assets.size } },
      );
    }
    if (!values.yes && !dryRun) {
      await _confirmRemoval(ctx, source, { collections: collectionTotal, assets: assetTotal });
    }
    writeOrDryRun(db, () => {
      if (!getSource(db, source.id)) {
        throw new RetrovueError("NOT_FOUND", `no source '${source.id}'`);
      }
      deleteSource(db, source.id);
    }, { dryRun });
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        dryRun,
        removed: { id: source.id, name: source.name, type: source.typeId },
        collectionCount: collectionTotal,
        assetCount: assetTotal,
      });
      return 0;
    }
    ctx.stdout.write(
      `${dryRun ? "Dry run: would remove" : "Removed"} source '${source.name}' (${source.id}) ` +
        `with ${collectionTotal} collections and ${assetTotal} assets.\n` +
        (dryRun ? "Nothing was written.\n" : ""),
    );
    return 0;
  },
};

async function _confirmRemoval(
  ctx: CommandContext,
  source: SourceRecord,
  counts: { collections: number; assets: number },
): Promise<void> {
  const what = `${counts.collections} collection(s) and ${counts.assets} asset(s)`;
  if (!ctx.stdinIsTerminal || ctx.json) {
    throw new RetrovueError(
      "USAGE",
      `removing source '${source.name}' (with ${what}) needs confirmation; pass --yes to ` +
        `remove it without asking`,
      { details: counts },
    );
  }
  const answer = await ctx.prompt(
    `Remove source '${source.name}' (${source.id}) with its ${what}? [y/N] `,
  );
  if (!/^y(es)?$/i.test((answer ?? "").trim())) {
    throw new RetrovueError("CANCELLED", "not removed");
  }
}

// -------------------------------------------------------------- discover

const discover: Command = {
  path: ["source", "discover"],
  summary: "List a source's collections upstream and update the catalog",
  help: `Usage: retrovue source discover <source> [--dry-run] [--json]

Runs the importer's listCollections in the sandbox and upserts collections by
external id: new ones are added with sync disabled, known ones get their name,
kind and locations refreshed, and ones no longer upstream are marked missing
(never deleted). Sync is never enabled by discovery.
`,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, { "dry-run": { type: "boolean" } }, {
      minPositionals: 1,
      maxPositionals: 1,
      positionalName: "a <source> (id or name)",
    });
    const dryRun = values["dry-run"] ?? false;
    const db = ctx.openDb({ dryRun });
    const source = findSource(db, positionals[0]);
    const registry = await ctx.loadRegistry();
    const info = requireImporter(registry, source);
    const { discovered } = await _contact(ctx, { registry, info, config: source.config }, {
      validate: false,
      discover: true,
    });
    const result = writeOrDryRun(db, () => {
      const found = upsertDiscoveredCollections(db, source.id, {
        found: discovered ?? [],
        now: ctx.now,
      });
      _attachDefaultEnrichers(ctx, db, source.typeId, found);
      return found;
    }, { dryRun });
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        dryRun,
        source: { id: source.id, name: source.name, type: source.typeId },
        ..._discoveryJson(result, source.name),
      });
      return 0;
    }
    ctx.stdout.write(
      `${
        dryRun ? "Dry run: discovery of" : "Discovered"
      } source '${source.name}' (${source.id}).\n` +
        _discoveryText(result, ctx.width) + (dryRun ? "Nothing was written.\n" : ""),
    );
    return 0;
  },
};

/**
 * New filesystem collections get the built-in `ffprobe` enricher when
 * ffprobe is on `PATH` (see `DEFAULT_ENRICHERS`): a folder reports no durations.
 */
function _attachDefaultEnrichers(
  ctx: CommandContext,
  db: DatabaseSync,
  importerType: string,
  discovery: DiscoveryResult,
): void {
  attachDefaultEnrichers(db, discovery.added, {
    importerType,
    isAvailable: (name) => findOnPath(name, ctx.env.PATH ?? DEFAULT_SEARCH_PATH) !== undefined,
    now: ctx.now,
  });
}

/** Every `source …` command. */
export const sourceCommands: Command[] = [listTypes, add, list, show, update, remove, discover];

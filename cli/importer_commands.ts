/**
 * `importer new` and `importer check`: the plugin author's kit.
 *
 * - `importer new <type_id>` writes a working skeleton importer and its test
 *   into a plugin folder.
 * - `importer check <module> [importer flags…]` loads a module the way the
 *   registry does, runs it in its sandbox against the live upstream the flags
 *   describe, and runs the contributor checklist (see {@link runImporterCheck}).
 *
 * `--json` shapes are in `docs/cli.md`.
 *
 * @module
 */

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { secretValues, validateConfig } from "../core/config.ts";
import type {
  AssetFilters,
  CollectionKind,
  FilterName,
  ImporterConfig,
  ParamSpec,
} from "../core/contract.ts";
import { insertSource, setSyncEnabled, upsertDiscoveredCollections } from "../core/catalog.ts";
import { openDatabase } from "../core/db.ts";
import { RetrovueError, toRetrovueError } from "../core/errors.ts";
import {
  describeZodError,
  importedAssetSchema,
  manifestSchema,
  technicalMetadataSchema,
} from "../core/schemas.ts";
import { ingestCollection } from "../ingest/pipeline.ts";
import { normalizeText } from "../ingest/normalize.ts";
import { findPluginFiles, isPluginFileName } from "../registry/discovery.ts";
import {
  BUILTIN_IMPORTERS_DIR,
  describeIsolation,
  type Isolation,
  type Limits,
  loadManifests,
  pluginDirsFromEnv,
} from "../registry/mod.ts";
import { openImporterClient } from "../registry/single.ts";
import type {
  CallOptions,
  ImporterClient,
  ImporterTypeInfo,
  PluginNotice,
  ValidCollectionInfo,
} from "../registry/types.ts";
import { type Command, type CommandContext, parseCommandArgs } from "./command.ts";
import { inertLine } from "./inert.ts";
import { style, writeJson } from "./output.ts";
import {
  isolationJson,
  paramHelp,
  parseTypeArgs,
  readSecretInputs,
  startingPlugin,
} from "./views.ts";

// ================================================================ importer new

/** Where `importer new` writes by default. */
export const DEFAULT_PLUGIN_DIR = "plugins";

/** The bare specifier a plugin imports the contract by; its folder's `deno.json` maps it. */
export const CONTRACT_SPECIFIER = "@retrovue/contract";

/** Where {@link CONTRACT_SPECIFIER} points: this checkout's contract. */
const CONTRACT_URL = new URL("../core/contract.ts", import.meta.url).href;

/** What {@link writeSkeleton} wrote. */
export interface SkeletonFiles {
  /** The importer's type id. */
  typeId: string;
  /** Absolute path of the module. */
  module: string;
  /** Absolute path of its test. */
  test: string;
  /** Absolute path of the folder's `deno.json` (its import map names the contract). */
  config: string;
}

/** Options for {@link writeSkeleton}. */
export interface WriteSkeletonOptions {
  /** The plugin folder (created when missing). */
  dir: string;
  /** Overwrite existing files. */
  force?: boolean;
}

/**
 * Checks a type id the way the manifest schema does, and that its file name
 * would be discovered as a plugin. Throws `USAGE`.
 */
export function checkTypeId(typeId: string): void {
  const parsed = manifestSchema.shape.typeId.safeParse(typeId);
  if (!parsed.success) {
    throw new RetrovueError(
      "USAGE",
      `invalid type id '${typeId}': it must match [a-z][a-z0-9_-]* (at most 40 characters)`,
    );
  }
  if (!isPluginFileName(`${typeId}.ts`)) {
    throw new RetrovueError(
      "USAGE",
      `invalid type id '${typeId}': '${typeId}.ts' would be taken for a test, not a plugin`,
    );
  }
}

/**
 * Writes `<typeId>.ts` (a working skeleton importer) and `<typeId>_test.ts`
 * into `options.dir`, plus a `deno.json` whose import map names the contract
 * (`@retrovue/contract`), so the folder type-checks wherever it is moved. An
 * existing `deno.json` gains the mapping if it lacks it. Refuses
 * (`CONFLICT`) to overwrite the module or test without `force`.
 */
export function writeSkeleton(typeId: string, options: WriteSkeletonOptions): SkeletonFiles {
  checkTypeId(typeId);
  const dir = resolve(options.dir);
  const module = join(dir, `${typeId}.ts`);
  const test = join(dir, `${typeId}_test.ts`);
  const config = join(dir, "deno.json");
  if (!options.force) {
    for (const file of [module, test]) {
      if (existsSync(file)) {
        throw new RetrovueError(
          "CONFLICT",
          `'${file}' already exists; pass --force to overwrite it`,
        );
      }
    }
  }
  const configText = _pluginConfig(config);
  mkdirSync(dir, { recursive: true });
  if (configText !== null) writeFileSync(config, configText);
  writeFileSync(module, skeletonModule(typeId));
  writeFileSync(test, skeletonTest(typeId));
  return { typeId, module, test, config };
}

/**
 * The plugin folder's `deno.json` with the contract mapped, or null when the
 * existing one maps it already. Refuses (`CONFLICT`) to rewrite a file it
 * cannot read as JSON.
 */
function _pluginConfig(file: string): string | null {
  let doc: { imports?: Record<string, string> } = {};
  if (existsSync(file)) {
    try {
      doc = JSON.parse(Deno.readTextFileSync(file));
    } catch {
      throw new RetrovueError(
        "CONFLICT",
        `'${file}' is not plain JSON; add "imports": { "${CONTRACT_SPECIFIER}": ` +
          `"${CONTRACT_URL}" } to it yourself`,
      );
    }
    if (doc.imports?.[CONTRACT_SPECIFIER] !== undefined) return null;
  }
  doc.imports = { ...doc.imports, [CONTRACT_SPECIFIER]: CONTRACT_URL };
  return JSON.stringify(doc, null, 2) + "\n";
}

function _displayName(typeId: string): string {
  return typeId.split(/[-_]+/).filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1)).join(" ");
}

/** The skeleton module's source; it imports the contract as {@link CONTRACT_SPECIFIER}. */
export function skeletonModule(typeId: string): string {
  const name = _displayName(typeId);
  return `/**
 * ${name}: a RetroVue importer (generated by \`retrovue importer new ${typeId}\`).
 *
 * A working skeleton: it serves a small built-in demo catalog, so
 * \`retrovue importer check\` passes from the start. Replace the demo data
 * with calls to your upstream, keeping the contract (docs/importers.md):
 *
 * - declare every value you need as a param; a URL you fetch needs
 *   \`grants: "net"\`, a path you read \`grants: "read"\` (nothing else is reachable);
 * - throw typed errors: \`Object.assign(new Error(msg), { code: "AUTH_FAILED" })\`;
 * - push down the filters you declare in \`capabilities\`, and yield in a stable order.
 *
 * @module
 */

import type {
  AssetFilters,
  CollectionInfo,
  ImportedAsset,
  Importer,
  ImporterErrorCode,
} from "${CONTRACT_SPECIFIER}";

function _episode(
  externalId: string,
  at: { show: string; season: number; episode: number },
): ImportedAsset {
  const { show, season, episode } = at;
  return { externalId, kind: "episode", title: "", seriesTitle: show, season, episode };
}

/** The demo upstream. Replace it with requests to your server or reads of your files. */
const DEMO: { info: CollectionInfo; assets: ImportedAsset[] }[] = [
  {
    info: { externalId: "movies", name: "Demo Movies", kind: "movies" },
    assets: [
      { externalId: "m1", kind: "movie", title: "First Movie", year: 1999 },
      { externalId: "m2", kind: "movie", title: "Second Movie", year: 2001 },
    ],
  },
  {
    info: { externalId: "shows", name: "Demo Shows", kind: "shows" },
    assets: [
      _episode("e1", { show: "Demo Show", season: 1, episode: 1 }),
      _episode("e2", { show: "Demo Show", season: 1, episode: 2 }),
      _episode("e3", { show: "Demo Show", season: 2, episode: 1 }),
      _episode("e4", { show: "Other Show", season: 1, episode: 1 }),
    ],
  },
];

function _fail(code: ImporterErrorCode, message: string): never {
  throw Object.assign(new Error(message), { code });
}

/** Titles match case-insensitively and exactly: the series title of episodes, the title of movies. */
function _matches(asset: ImportedAsset, filters: AssetFilters): boolean {
  if (filters.title !== undefined) {
    const own = asset.kind === "episode" ? asset.seriesTitle ?? "" : asset.title;
    if (own.toLowerCase() !== filters.title.toLowerCase()) return false;
  }
  if (filters.season !== undefined && asset.season !== filters.season) return false;
  if (filters.episode !== undefined && asset.episode !== filters.episode) return false;
  return true;
}

const importer: Importer = {
  typeId: "${typeId}",
  displayName: "${name}",
  description: "TODO: one paragraph for 'source add --type ${typeId} --help'.",
  version: "0.1.0",
  // A real importer declares its upstream here, for example:
  //   { name: "base_url", flag: "--base-url", kind: "url", required: true, grants: "net",
  //     description: "Server URL" },
  //   { name: "token", flag: "--token", kind: "string", required: true, secret: true,
  //     description: "API token" },
  params: [],
  capabilities: {
    filters: { movies: ["title"], shows: ["title", "season", "episode"] },
  },

  validateConnection(_config, _context) {
    // Check reachability and credentials here; throw UNREACHABLE or AUTH_FAILED.
    return Promise.resolve({ serverName: "${name} demo" });
  },

  listCollections(_config, _context) {
    return Promise.resolve(DEMO.map((c) => c.info));
  },

  async *fetchAssets(_config, request) {
    const id = request.collection.externalId;
    const collection = DEMO.find((c) => c.info.externalId === id);
    if (!collection) _fail("COLLECTION_NOT_FOUND", \`no collection '\${id}'\`);
    // Yield a page at a time (an array) as your upstream returns them.
    yield collection.assets.filter((a) => _matches(a, request.filters));
  },
};

export default importer;
`;
}

/** The skeleton's test source. */
export function skeletonTest(typeId: string): string {
  return `/**
 * Tests of the ${typeId} importer, called directly (no sandbox).
 * Run from this folder (its deno.json maps "${CONTRACT_SPECIFIER}"):
 *   deno test --no-prompt ${typeId}_test.ts
 */

import assert from "node:assert/strict";
import importer from "./${typeId}.ts";

const context = { signal: new AbortController().signal, warn() {}, skipped() {} };

async function _fetch(collection: string, filters = {}) {
  const collections = await importer.listCollections({}, context);
  const info = collections.find((c) => c.externalId === collection);
  assert.ok(info, \`collection \${collection} is listed\`);
  const out = [];
  for await (const item of importer.fetchAssets({}, { ...context, collection: info, filters })) {
    out.push(...(Array.isArray(item) ? item : [item]));
  }
  return out;
}

Deno.test("${typeId}: validateConnection answers", async () => {
  const info = await importer.validateConnection({}, context);
  assert.equal(typeof info.serverName, "string");
});

Deno.test("${typeId}: every collection has assets with unique ids", async () => {
  for (const c of await importer.listCollections({}, context)) {
    const assets = await _fetch(c.externalId);
    assert.ok(assets.length > 0);
    assert.equal(new Set(assets.map((a) => a.externalId)).size, assets.length);
  }
});

Deno.test("${typeId}: the title filter narrows the result", async () => {
  const shows = (await importer.listCollections({}, context)).find((c) => c.kind === "shows");
  assert.ok(shows);
  const all = await _fetch(shows.externalId);
  const title = all[0].seriesTitle!;
  const some = await _fetch(shows.externalId, { title: title.toUpperCase() });
  assert.ok(some.length > 0 && some.length < all.length);
  assert.ok(some.every((a) => a.seriesTitle === title));
});

Deno.test("${typeId}: an unknown collection is COLLECTION_NOT_FOUND", async () => {
  const iterator = importer.fetchAssets({}, {
    ...context,
    collection: { externalId: "nope", kind: "movies", name: "Nope" },
    filters: {},
  })[Symbol.asyncIterator]();
  await assert.rejects(iterator.next(), { code: "COLLECTION_NOT_FOUND" });
});
`;
}

const newCommand: Command = {
  path: ["importer", "new"],
  summary: "Write a skeleton importer and its test into a plugin folder",
  help: `Usage: retrovue importer new <type_id> [--dir DIR] [--force] [--json]

Writes <type_id>.ts, a working skeleton importer serving a small demo catalog,
and <type_id>_test.ts, its test, into DIR (default: ./${DEFAULT_PLUGIN_DIR}, created if
missing), with a deno.json whose import map names the contract
("${CONTRACT_SPECIFIER}", this installation's core/contract.ts): run 'deno check'
and 'deno test' from DIR, wherever it lives. The skeleton passes 'importer check'
as written; replace its demo data with calls to your upstream (see
docs/importers.md). Use the folder with RETROVUE_PLUGIN_PATH=DIR.

  --dir DIR   plugin folder to write into (default: ./${DEFAULT_PLUGIN_DIR})
  --force     overwrite existing files

The type id must match [a-z][a-z0-9_-]* (at most 40 characters), must not
end in '_test' and must not be a built-in importer's (plex, filesystem, …).
Existing files are never overwritten without --force (exit 1, CONFLICT); an
existing deno.json only gains the contract's mapping.
`,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, {
      dir: { type: "string" },
      force: { type: "boolean" },
    }, { minPositionals: 1, maxPositionals: 1, positionalName: "a <type_id>" });
    checkTypeId(positionals[0]);
    const builtin = (await ctx.loadRegistry()).types.find((t) =>
      t.typeId === positionals[0] && _isBuiltin(t.file)
    );
    if (builtin) {
      throw new RetrovueError(
        "CONFLICT",
        `'${positionals[0]}' is the type id of a built-in importer (${
          basename(builtin.file)
        }); choose another`,
      );
    }
    const files = writeSkeleton(positionals[0], {
      dir: resolve(ctx.cwd, values.dir ?? DEFAULT_PLUGIN_DIR),
      force: values.force ?? false,
    });
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        typeId: files.typeId,
        module: files.module,
        test: files.test,
        config: files.config,
      });
    } else {
      ctx.stdout.write(
        `Wrote ${files.module}\nWrote ${files.test}\nWrote ${files.config}\n` +
          `Next: retrovue importer check ${relative(ctx.cwd, files.module) || files.module}\n`,
      );
    }
    return 0;
  },
};

// ============================================================== importer check

/** The outcome of one checklist item. */
export type CheckStatus = "pass" | "fail" | "skip" | "lint";

/** One checklist item. */
export interface CheckItem {
  /** Stable name, e.g. `fetch_assets` (see `docs/cli.md`). */
  name: string;
  /**
   * Passed, failed, not applicable / not reachable, or `lint`: it works, but
   * something is doubtful (a lint does not fail the report).
   */
  status: CheckStatus;
  /** One line saying what was found. */
  detail: string;
}

/** The whole report; `--json` prints it as is. */
export interface CheckReport {
  /** `pass` when no item failed. */
  status: "pass" | "fail";
  /** Absolute path of the module. */
  module: string;
  /** Its type id, when the manifest got that far. */
  typeId: string | null;
  /** How the importer's plugin host was isolated (`reason` only at level `deno`). */
  isolation: Isolation;
  /** Every item, in checklist order. */
  checks: CheckItem[];
}

/** Options for {@link runImporterCheck}. */
export interface ImporterCheckOptions {
  /** The loaded module (from `loadManifests`). */
  info: ImporterTypeInfo;
  /** Other importers' manifests (built-ins and plugin folders), for the uniqueness check. */
  others: readonly ImporterTypeInfo[];
  /** The validated config (ignored when the module is broken). */
  config: ImporterConfig;
  /** The isolation plugin hosts get here (see `registry/isolation.ts`). */
  isolation: Isolation;
  /** Limits on what the importer may send (default: the registry's). */
  limits?: Limits;
  /** External id of the one collection to fetch; default the first ingestible one of each kind. */
  collection?: string;
  /** Per-call deadline in milliseconds. */
  timeoutMs?: number;
  /** Cancels the run. */
  signal?: AbortSignal;
}

/** The value put in secret params to check that a wrong credential raises `AUTH_FAILED`. */
export const WRONG_CREDENTIAL = "retrovue-check-wrong-credential";

const FILTER_ORDER: readonly FilterName[] = ["title", "season", "episode"];
const DENIAL = /sandbox denied|Requires \w+ access|NotCapable/i;

interface _Fetched {
  items: unknown[];
  notices: PluginNotice[];
}

/**
 * Runs the contributor checklist against a loaded module:
 * `manifest`, `unique_type_id`, `validate_connection`, `auth_failed`,
 * `list_collections`, `fetch_assets`, `filter_title`, `filter_season`,
 * `filter_episode`, `determinism`, `sandbox`, `dry_run`. Items that cannot
 * run because an earlier one failed are `skip` with the reason; the report
 * passes only when no item fails. Never throws for the module's faults.
 */
export async function runImporterCheck(options: ImporterCheckOptions): Promise<CheckReport> {
  const { info } = options;
  const checks: CheckItem[] = [];
  const add = (name: string, status: CheckStatus, detail: string) =>
    checks.push({ name, status, detail: detail.replace(/\s+/g, " ").trim() });
  const report = (): CheckReport => ({
    status: checks.some((c) => c.status === "fail") ? "fail" : "pass",
    module: info.file,
    typeId: info.typeId ?? null,
    isolation: isolationJson(options.isolation),
    checks,
  });
  const skipRest = (names: string[], why: string) => names.forEach((n) => add(n, "skip", why));
  const LATER = [
    "validate_connection",
    "auth_failed",
    "list_collections",
    "fetch_assets",
    "filter_title",
    "filter_season",
    "filter_episode",
    "determinism",
    "sandbox",
    "dry_run",
  ];

  if (info.status === "broken") {
    add("manifest", "fail", info.reason);
    add("unique_type_id", "skip", "the manifest did not load");
    skipRest(LATER, "the manifest did not load");
    return report();
  }
  const m = info.manifest;
  const manifestText = `${m.displayName}${m.version ? ` ${m.version}` : ""}: ` +
    `${m.params.length} param(s); filters ${_filtersText(m.capabilities.filters)}`;
  const doubts = _paramDoubts(m.params);
  if (doubts.length) add("manifest", "lint", `${manifestText}; but ${doubts.join("; ")}`);
  else add("manifest", "pass", manifestText);
  const clash = options.others.filter((o) =>
    o.status === "available" && o.typeId === info.typeId && o.file !== info.file
  );
  if (clash.length) {
    add(
      "unique_type_id",
      "fail",
      `type id '${info.typeId}' is already claimed by ${clash.map((c) => c.file).join(", ")}`,
    );
  } else add("unique_type_id", "pass", `no other importer claims '${info.typeId}'`);

  // Every error and notice from every call, for the sandbox item.
  const denials: string[] = [];
  const notices: PluginNotice[] = [];
  const callOptions = (into?: PluginNotice[]): CallOptions => ({
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    onNotice(notice) {
      notices.push(notice);
      into?.push(notice);
      if (notice.kind === "warn" && DENIAL.test(notice.message)) {
        // The client reports a denial the plugin only logged as a "logged: …" warning.
        const logged = notice.message.startsWith("logged: ");
        denials.push(
          logged ? `a log line: ${notice.message.slice(8)}` : `a warning: ${notice.message}`,
        );
      }
    },
  });
  const describe = (op: string, error: unknown) => {
    const e = toRetrovueError(error);
    if (e.code === "PERMISSION_DENIED" || DENIAL.test(e.message)) {
      denials.push(`${op}: ${e.message}`);
    }
    return `${op} failed: ${e.code}: ${e.message}`;
  };

  let client: ImporterClient;
  try {
    client = await openImporterClient(info, options.config, {
      timeoutMs: options.timeoutMs,
      isolation: options.isolation.level,
      limits: options.limits,
    });
  } catch (error) {
    add("validate_connection", "fail", describe("starting the importer", error));
    skipRest(LATER.slice(1), "the importer did not start");
    return report();
  }
  try {
    // -------------------------------------------------- validate_connection
    let connected = false;
    try {
      const conn = await client.validateConnection(callOptions());
      connected = true;
      if (!conn.serverName && !conn.version && !conn.serverId) {
        add(
          "validate_connection",
          "lint",
          "connected, but validateConnection returned no serverName, version or serverId: " +
            "operators cannot tell which server they reached",
        );
      } else add("validate_connection", "pass", _connText(conn));
    } catch (error) {
      add("validate_connection", "fail", describe("validateConnection", error));
    }

    // ---------------------------------------------------------- auth_failed
    const secrets = m.params.filter((p) => p.secret);
    if (secrets.length === 0) add("auth_failed", "skip", "the importer has no secret param");
    else if (!connected) add("auth_failed", "skip", "validateConnection did not succeed");
    else add("auth_failed", ...await _checkAuth(info, options, secrets, describe));

    // ----------------------------------------------------- list_collections
    let collections: ValidCollectionInfo[] | undefined;
    try {
      collections = await client.listCollections(callOptions());
      add("list_collections", ..._listText(collections));
    } catch (error) {
      add("list_collections", "fail", describe("listCollections", error));
    }

    // ------------------- fetch_assets, filters, determinism, dry_run per collection
    const targets = _pickCollections(collections, options.collection);
    const perCollection = new Map<string, [CheckStatus, string][]>();
    if (typeof targets === "string") {
      perCollection.set("fetch_assets", [[collections ? "fail" : "skip", targets]]);
      for (const filter of FILTER_ORDER) {
        perCollection.set(`filter_${filter}`, [["skip", "no collection to fetch"]]);
      }
      perCollection.set("determinism", [[
        "skip",
        "listCollections and fetchAssets must succeed first",
      ]]);
      perCollection.set("dry_run", [["skip", "fetchAssets must succeed first"]]);
    } else {
      for (const target of targets) {
        const results = await _checkCollection(target, {
          client,
          info,
          config: options.config,
          collections: collections!,
          callOptions,
          describe,
        });
        for (const [name, result] of Object.entries(results)) {
          const label = targets.length > 1 ? `[${target.kind}] ` : "";
          perCollection.set(name, [
            ...perCollection.get(name) ?? [],
            [result[0], label + result[1]],
          ]);
        }
      }
    }
    for (const name of COLLECTION_ITEMS.filter((n) => n !== "dry_run")) {
      add(name, ..._combine(perCollection.get(name)!));
    }

    // ------------------------------------------------------------- sandbox
    if (denials.length) {
      add(
        "sandbox",
        "fail",
        `the importer attempted something its sandbox forbids: ${
          [...new Set(denials)].slice(0, 2).join("; ")
        }`,
      );
    } else {
      add(
        "sandbox",
        "pass",
        `no call was denied by the sandbox (${notices.length} notice(s) reviewed)`,
      );
    }
    add("dry_run", ..._combine(perCollection.get("dry_run")!));
  } finally {
    await client.close();
  }
  return report();
}

/** The items checked once per collection, in checklist order. */
const COLLECTION_ITEMS = [
  "fetch_assets",
  "filter_title",
  "filter_season",
  "filter_episode",
  "determinism",
  "dry_run",
] as const;

/** How bad a status is, for {@link _combine}: a failure outweighs a lint, a lint a pass. */
const SEVERITY: Record<CheckStatus, number> = { skip: 0, pass: 1, lint: 2, fail: 3 };

/** One item's results over several collections: the worst status, every detail. */
function _combine(results: readonly [CheckStatus, string][]): [CheckStatus, string] {
  const status = results.map((r) => r[0]).reduce((a, b) => SEVERITY[b] > SEVERITY[a] ? b : a);
  return [status, results.map((r) => r[1]).join("; ")];
}

function _listText(collections: readonly ValidCollectionInfo[]): [CheckStatus, string] {
  const ingestible = collections.filter((c) => c.ingestible !== false);
  if (ingestible.length === 0) {
    return [
      "fail",
      `${collections.length} collection(s), none ingestible: nothing to check assets with`,
    ];
  }
  const text = `${collections.length} valid collection(s), ${ingestible.length} ingestible: ${
    collections.slice(0, 5).map((c) => `${c.name} (${c.kind})`).join(", ")
  }${collections.length > 5 ? ", …" : ""}`;
  const unexplained = collections.filter((c) => c.ingestible === false && !c.reason?.trim());
  if (unexplained.length === 0) return ["pass", text];
  return [
    "lint",
    `${text}; but ${unexplained.length} not ingestible without a reason ` +
    `(${unexplained.slice(0, 3).map((c) => c.name).join(", ")}): operators are not told why`,
  ];
}

/** What {@link _checkCollection} works with. */
interface _CollectionState {
  client: ImporterClient;
  info: Extract<ImporterTypeInfo, { status: "available" }>;
  config: ImporterConfig;
  collections: ValidCollectionInfo[];
  callOptions: (into?: PluginNotice[]) => CallOptions;
  describe: (op: string, error: unknown) => string;
}

/** Runs the per-collection items ({@link COLLECTION_ITEMS}) against one collection. */
async function _checkCollection(
  target: ValidCollectionInfo,
  state: _CollectionState,
): Promise<Record<(typeof COLLECTION_ITEMS)[number], [CheckStatus, string]>> {
  const { client, callOptions, describe } = state;
  const out = {} as Record<(typeof COLLECTION_ITEMS)[number], [CheckStatus, string]>;
  let full: _Fetched | undefined;
  let valid: Record<string, unknown>[] = [];
  try {
    full = await _fetchAll(client, target, {}, callOptions);
    const checked = _checkAssets(full.items);
    valid = checked.valid;
    const skipped = full.notices.filter((n) => n.kind === "skipped").length;
    const where = `collection '${target.name}' (${target.kind})`;
    if (checked.problems.length) {
      out.fetch_assets = [
        "fail",
        `${full.items.length} item(s) from ${where}; ${checked.problems.length} problem(s): ${
          checked.problems.slice(0, 3).join("; ")
        }`,
      ];
    } else {
      const text = `${full.items.length} valid asset(s) from ${where}` +
        (skipped ? `; ${skipped} item(s) reported skipped` : "");
      out.fetch_assets = checked.unknown.length
        ? [
          "lint",
          `${text}; but field(s) ${checked.unknown.slice(0, 5).join(", ")} are not part of an ` +
          "asset (ImportedAsset in the contract) and are dropped",
        ]
        : ["pass", text];
    }
  } catch (error) {
    out.fetch_assets = ["fail", describe("fetchAssets", error)];
  }

  const declared = state.info.manifest.capabilities.filters[target.kind] ?? [];
  for (const filter of FILTER_ORDER) {
    const name = `filter_${filter}` as const;
    if (!declared.includes(filter)) {
      out[name] = ["skip", `not pushed down (host filters) for ${target.kind} collections`];
    } else if (!full) {
      out[name] = ["skip", "fetchAssets did not succeed"];
    } else {
      out[name] = await _checkFilter(filter, { client, target, declared, valid, full }, {
        callOptions,
        describe,
      });
    }
  }

  if (!full) {
    out.determinism = ["skip", "listCollections and fetchAssets must succeed first"];
    out.dry_run = ["skip", "fetchAssets must succeed first"];
    return out;
  }
  try {
    const again = await client.listCollections(callOptions());
    const second = await _fetchAll(client, target, {}, callOptions);
    const at = _firstDifference(full.items, second.items);
    if (JSON.stringify(again) !== JSON.stringify(state.collections)) {
      out.determinism = ["fail", "listCollections gave a different answer the second time"];
    } else if (at !== null) {
      out.determinism = [
        "fail",
        `fetchAssets gave different output the second time, first at item ${at + 1}` +
        ` (${_idOf(full.items[at] ?? second.items[at])})`,
      ];
    } else {
      out.determinism = [
        "pass",
        `two runs gave identical collections and ${full.items.length} identical asset(s)`,
      ];
    }
  } catch (error) {
    out.determinism = ["fail", describe("a second run", error)];
  }
  try {
    out.dry_run = await _checkDryRun({ ...state, target });
  } catch (error) {
    out.dry_run = ["fail", describe("the dry-run ingest", error)];
  }
  return out;
}

/** What is valid but doubtful in a manifest's params (the schema refuses what is wrong). */
function _paramDoubts(params: readonly ParamSpec[]): string[] {
  const out: string[] = [];
  for (const p of params) {
    if ((p.min !== undefined || p.max !== undefined) && p.kind !== "integer") {
      out.push(`'${p.flag}' has min/max, which only an integer param uses`);
    }
    if (p.required && p.default !== undefined) {
      out.push(`'${p.flag}' is required and has a default, which is never used`);
    }
    if (p.secret && p.kind === "boolean") {
      out.push(`'${p.flag}' is a secret boolean: there is nothing to hide in on/off`);
    }
  }
  return out;
}

function _filtersText(filters: Partial<Record<CollectionKind, FilterName[]>>): string {
  const parts = Object.entries(filters).map(([k, v]) => `${k}: ${(v ?? []).join(", ") || "none"}`);
  return parts.length ? parts.join("; ") : "none (the host filters everything)";
}

function _connText(conn: { serverName?: string; version?: string; serverId?: string }): string {
  const parts = [conn.serverName, conn.version].filter((p) => p);
  return parts.length ? `connected to ${parts.join(" ")}` : "connected";
}

async function _checkAuth(
  info: Extract<ImporterTypeInfo, { status: "available" }>,
  options: ImporterCheckOptions,
  secrets: readonly ParamSpec[],
  describe: (op: string, error: unknown) => string,
): Promise<[CheckStatus, string]> {
  const wrong: ImporterConfig = { ...options.config };
  for (const p of secrets) wrong[p.name] = p.multiple ? [WRONG_CREDENTIAL] : WRONG_CREDENTIAL;
  const flags = secrets.map((p) => p.flag).join(", ");
  let client: ImporterClient;
  try {
    client = await openImporterClient(info, wrong, {
      timeoutMs: options.timeoutMs,
      extraSecrets: secretValues(info.manifest.params, options.config),
      isolation: options.isolation.level,
      limits: options.limits,
    });
  } catch (error) {
    return ["fail", describe("starting the importer", error)];
  }
  try {
    await client.validateConnection({ signal: options.signal, timeoutMs: options.timeoutMs });
    return ["fail", `validateConnection accepted a wrong ${flags}; it must throw AUTH_FAILED`];
  } catch (error) {
    const e = toRetrovueError(error);
    if (e.code === "AUTH_FAILED") return ["pass", `a wrong ${flags} raised AUTH_FAILED`];
    describe("validateConnection with a wrong credential", error); // Records sandbox denials.
    return ["fail", `a wrong ${flags} must raise AUTH_FAILED, got ${e.code}: ${e.message}`];
  } finally {
    await client.close();
  }
}

/**
 * The collections to fetch: the one asked for, else the first ingestible
 * collection of each kind (so a shows collection's filters are checked too,
 * not only the first collection's). A string says why there is none.
 */
function _pickCollections(
  collections: ValidCollectionInfo[] | undefined,
  wanted: string | undefined,
): ValidCollectionInfo[] | string {
  if (!collections) return "listCollections did not succeed";
  if (wanted !== undefined) {
    const found = collections.find((c) => c.externalId === wanted);
    if (!found) {
      return `no collection '${wanted}' was listed; listed: ${
        collections.map((c) => c.externalId).slice(0, 10).join(", ") || "none"
      }`;
    }
    if (found.ingestible === false) {
      return `collection '${wanted}' is not ingestible: ${found.reason ?? "no reason given"}`;
    }
    return [found];
  }
  const picked: ValidCollectionInfo[] = [];
  for (const c of collections) {
    if (c.ingestible !== false && !picked.some((p) => p.kind === c.kind)) picked.push(c);
  }
  return picked.length ? picked : "no ingestible collection was listed";
}

async function _fetchAll(
  client: ImporterClient,
  target: ValidCollectionInfo,
  filters: AssetFilters,
  callOptions: (into?: PluginNotice[]) => CallOptions,
): Promise<_Fetched> {
  const items: unknown[] = [];
  const notices: PluginNotice[] = [];
  const collection = { externalId: target.externalId, kind: target.kind, name: target.name };
  for await (const batch of client.fetchAssets({ collection, filters }, callOptions(notices))) {
    if (!Array.isArray(batch)) {
      throw new RetrovueError("MALFORMED_RESPONSE", "a batch is not a list");
    }
    items.push(...batch);
  }
  return { items, notices };
}

function _idOf(raw: unknown): string {
  const id = (raw as { externalId?: unknown } | null)?.externalId;
  return typeof id === "string" ? `'${id.slice(0, 100)}'` : "an item without externalId";
}

/** The fields an asset (and its `tech`) may carry; any other is dropped on the way in. */
const ASSET_FIELDS = new Set(Object.keys(importedAssetSchema.shape));
const TECH_FIELDS = new Set(Object.keys(technicalMetadataSchema.shape));

/** Fields of `raw` (an asset) that the host does not know, as `name` or `tech.name`. */
function _unknownFields(raw: unknown): string[] {
  if (typeof raw !== "object" || raw === null) return [];
  const out = Object.keys(raw).filter((k) => !ASSET_FIELDS.has(k));
  const tech = (raw as { tech?: unknown }).tech;
  if (typeof tech === "object" && tech !== null) {
    out.push(...Object.keys(tech).filter((k) => !TECH_FIELDS.has(k)).map((k) => `tech.${k}`));
  }
  return out;
}

function _checkAssets(
  items: unknown[],
): { valid: Record<string, unknown>[]; problems: string[]; unknown: string[] } {
  const valid: Record<string, unknown>[] = [];
  const problems: string[] = [];
  const unknown = new Set<string>();
  const seen = new Set<string>();
  for (const raw of items) {
    for (const field of _unknownFields(raw)) unknown.add(field);
    const parsed = importedAssetSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(`${_idOf(raw)} is invalid: ${describeZodError(parsed.error)}`);
      continue;
    }
    if (seen.has(parsed.data.externalId)) {
      problems.push(`${_idOf(raw)} appears twice`);
      continue;
    }
    seen.add(parsed.data.externalId);
    valid.push(parsed.data as Record<string, unknown>);
  }
  return { valid, problems, unknown: [...unknown].sort() };
}

function _ownTitle(a: Record<string, unknown>): string {
  const own = a.kind === "episode" ? a.seriesTitle : a.title;
  return normalizeText(typeof own === "string" ? own : "").toLowerCase();
}

/** Whether a (valid) asset lies in a scope, as the host decides it. */
function _inScope(a: Record<string, unknown>, f: AssetFilters): boolean {
  if (f.title !== undefined && _ownTitle(a) !== normalizeText(f.title).toLowerCase()) return false;
  if (f.season !== undefined && a.season !== f.season) return false;
  if (f.episode !== undefined) {
    if (typeof a.episode !== "number") return false;
    const last = typeof a.episodeEnd === "number" ? a.episodeEnd : a.episode;
    if (f.episode < a.episode || f.episode > last) return false;
  }
  return true;
}

/**
 * Picks filter values from the fetched assets, preferring values that narrow
 * the parent scope (a title among several, a season of a show with several…).
 */
function _pickFilters(
  filter: FilterName,
  valid: readonly Record<string, unknown>[],
): AssetFilters | undefined {
  const rawTitle = (a: Record<string, unknown>) =>
    String((a.kind === "episode" ? a.seriesTitle : a.title) ?? "");
  const candidates = (f: (a: Record<string, unknown>) => AssetFilters | undefined) => {
    const out: AssetFilters[] = [];
    const keys = new Set<string>();
    for (const a of valid) {
      const c = f(a);
      if (!c || keys.has(JSON.stringify(c))) continue;
      keys.add(JSON.stringify(c));
      out.push(c);
    }
    return out;
  };
  const parentOf = (c: AssetFilters): AssetFilters =>
    filter === "title"
      ? {}
      : filter === "season"
      ? { title: c.title }
      : { title: c.title, season: c.season };
  let list: AssetFilters[];
  if (filter === "title") list = candidates((a) => ({ title: rawTitle(a) }));
  else if (filter === "season") {
    list = candidates((a) =>
      typeof a.season === "number" ? { title: rawTitle(a), season: a.season } : undefined
    );
  } else {
    list = candidates((a) =>
      typeof a.season === "number" && typeof a.episode === "number"
        ? { title: rawTitle(a), season: a.season, episode: a.episode }
        : undefined
    );
  }
  if (list.length === 0) return undefined;
  const narrowing = list.find((c) => {
    const parent = valid.filter((a) => _inScope(a, parentOf(c))).length;
    return valid.filter((a) => _inScope(a, c)).length < parent;
  });
  return narrowing ?? list[0];
}

function _scopeText(f: AssetFilters): string {
  const parts = [`title '${f.title}'`];
  if (f.season !== undefined) parts.push(`season ${f.season}`);
  if (f.episode !== undefined) parts.push(`episode ${f.episode}`);
  return parts.join(", ");
}

async function _checkFilter(
  filter: FilterName,
  state: {
    client: ImporterClient;
    target: ValidCollectionInfo;
    declared: readonly FilterName[];
    valid: Record<string, unknown>[];
    full: _Fetched;
  },
  helpers: {
    callOptions: (into?: PluginNotice[]) => CallOptions;
    describe: (op: string, error: unknown) => string;
  },
): Promise<[CheckStatus, string]> {
  const needed = FILTER_ORDER.slice(0, FILTER_ORDER.indexOf(filter));
  const missing = needed.filter((f) => !state.declared.includes(f));
  if (missing.length) {
    return [
      "fail",
      `declared, but the host pushes ${filter} down only together with ${
        missing.join(" and ")
      }, which ${missing.length > 1 ? "are" : "is"} not declared`,
    ];
  }
  const filters = _pickFilters(filter, state.valid);
  if (!filters) {
    return [
      "skip",
      `no asset in collection '${state.target.name}' has a ${filter} to filter by`,
    ];
  }
  const scope = _scopeText(filters);
  let got: _Fetched;
  try {
    got = await _fetchAll(state.client, state.target, filters, helpers.callOptions);
  } catch (error) {
    return ["fail", helpers.describe(`fetchAssets with ${scope}`, error)];
  }
  const expected = state.valid.filter((a) => _inScope(a, filters)).map((a) => String(a.externalId))
    .sort();
  const ids = got.items.map((a) => _idOf(a).replace(/^'|'$/g, "")).sort();
  const parentCount = filter === "title"
    ? state.valid.length
    : state.valid.filter((a) => _inScope(a, { ...filters, [filter]: undefined })).length;
  if (JSON.stringify(ids) !== JSON.stringify(expected)) {
    const extra = ids.filter((id) => !expected.includes(id));
    const lacking = expected.filter((id) => !ids.includes(id));
    return [
      "fail",
      `${scope} returned ${ids.length} asset(s), expected the ${expected.length} of the full ` +
      `run in that scope` + (extra.length ? `; outside it: ${extra.slice(0, 3).join(", ")}` : "") +
      (lacking.length ? `; missing: ${lacking.slice(0, 3).join(", ")}` : ""),
    ];
  }
  const note = expected.length < parentCount
    ? ""
    : " (every asset of the wider scope matches, so narrowing is not visible here)";
  return ["pass", `${scope}: ${ids.length} of ${parentCount} asset(s)${note}`];
}

function _firstDifference(a: unknown[], b: unknown[]): number | null {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) return i;
  }
  return null;
}

/** Every row of every table, sorted, as one string. */
function _dump(db: DatabaseSync): string {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all().map((r) => String(r.name));
  return tables.map((t) => {
    const rows = db.prepare(`SELECT * FROM "${t}"`).all()
      .map((r) => JSON.stringify(r, (_k, v) => typeof v === "bigint" ? String(v) : v)).sort();
    return `# ${t}\n${rows.join("\n")}`;
  }).join("\n");
}

async function _checkDryRun(state: {
  client: ImporterClient;
  info: Extract<ImporterTypeInfo, { status: "available" }>;
  config: ImporterConfig;
  collections: ValidCollectionInfo[];
  target: ValidCollectionInfo;
}): Promise<[CheckStatus, string]> {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-check-" });
  try {
    const db = openDatabase(join(dir, "check.db"));
    try {
      const source = insertSource(db, {
        name: "importer check",
        typeId: state.info.typeId,
        config: state.config,
      });
      const found = upsertDiscoveredCollections(db, source.id, state.collections);
      const collection = found.added.find((c) => c.externalId === state.target.externalId)!;
      setSyncEnabled(db, collection.id, true);
      const before = _dump(db);
      const result = await ingestCollection(db, {
        client: state.client,
        collection: collection.id,
        dryRun: true,
        secrets: secretValues(state.info.manifest.params, state.config),
      });
      const after = _dump(db);
      if (before !== after) {
        return ["fail", "the dry-run ingest changed the database"];
      }
      return [
        "pass",
        `a dry-run ingest classified ${result.stats.new} new and ${result.stats.invalid} ` +
        "invalid asset(s) and wrote nothing",
      ];
    } finally {
      db.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Loads the module to check plus every other importer it must not clash with. */
async function _loadForCheck(
  file: string,
  options: { env: CommandContext["env"]; isolation: Isolation },
): Promise<{ info: ImporterTypeInfo; others: ImporterTypeInfo[] }> {
  const dirs = [BUILTIN_IMPORTERS_DIR, ...pluginDirsFromEnv(options.env.RETROVUE_PLUGIN_PATH)];
  const others = findPluginFiles(dirs).files.filter((f) => f !== file);
  const [info, ...rest] = await loadManifests([file, ...others], {
    timeoutMs: 15_000,
    isolation: options.isolation.level,
  });
  return { info, others: rest };
}

/** Whether `file` (a real path) is one of the built-in importers. */
function _isBuiltin(file: string): boolean {
  try {
    return dirname(file) === Deno.realPathSync(BUILTIN_IMPORTERS_DIR);
  } catch {
    return false;
  }
}

function _resolveModule(ctx: CommandContext, arg: string | undefined): string {
  if (arg === undefined || arg.startsWith("-")) {
    throw new RetrovueError(
      "USAGE",
      "'importer check' needs a <module> first; see 'importer check --help'",
    );
  }
  const path = resolve(ctx.cwd, arg);
  let real: string;
  try {
    real = Deno.realPathSync(path);
    if (!Deno.statSync(real).isFile) throw new Error("not a file");
  } catch {
    throw new RetrovueError("NOT_FOUND", `no importer module '${arg}'`);
  }
  if (!isPluginFileName(basename(real))) {
    throw new RetrovueError(
      "USAGE",
      `'${arg}' is not a plugin module name: the registry skips files starting with '_' or '.' ` +
        "and tests ('*_test.ts')",
    );
  }
  return real;
}

function _formatReport(report: CheckReport, color: boolean): string {
  const s = style(color);
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = [
    `importer check: ${inertLine(report.typeId ?? "?")} (${inertLine(report.module)})`,
    `isolation: ${inertLine(describeIsolation(report.isolation))}`,
  ];
  for (const c of report.checks) {
    const mark = c.status === "pass"
      ? s.green("pass")
      : c.status === "fail"
      ? s.red("FAIL")
      : c.status === "lint"
      ? s.yellow("lint")
      : s.dim("skip");
    // Details quote the plugin's names and messages: inert, like every upstream value.
    lines.push(`  ${mark}  ${c.name.padEnd(width)}  ${inertLine(c.detail)}`);
  }
  const failed = report.checks.filter((c) => c.status === "fail").length;
  const skipped = report.checks.filter((c) => c.status === "skip").length;
  const linted = report.checks.filter((c) => c.status === "lint").length;
  const lintText = linted ? `, ${linted} with lint to look at` : "";
  lines.push(
    failed
      ? s.red(`${failed} of ${report.checks.length} checks failed${lintText}.`)
      : s.green(`All checks passed (${skipped} skipped${lintText}).`),
  );
  return lines.join("\n") + "\n";
}

const CHECK_HELP = `Usage: retrovue importer check <module> [IMPORTER OPTIONS…] [--collection ID]
       [--timeout SECONDS] [--json]

Loads <module> (a .ts file) the way the registry does, starts it in its
sandbox with the importer's own options (e.g. --file PATH for json-file,
--root PATH for filesystem; validated like 'source add'), runs it against
the live upstream they describe and prints pass/fail/skip per item:

  manifest             the module loads and its manifest is valid
  unique_type_id       no built-in importer, nor one in RETROVUE_PLUGIN_PATH, claims its type id
  validate_connection  validateConnection succeeds
  auth_failed          (importers with a secret option) a wrong credential raises AUTH_FAILED
  list_collections     listCollections returns valid collections, at least one ingestible
  fetch_assets         fetchAssets returns valid assets with unique ids, for one collection
                       of each kind (or the --collection one)
  filter_title         each filter declared for the collection's kind, with values taken
  filter_season        from the fetched assets, returns exactly the assets in that scope;
  filter_episode       a filter not declared is reported as "not pushed down (host filters)"
  determinism          two runs give identical collections and assets, in the same order
  sandbox              no call was denied by the sandbox (a PERMISSION_DENIED error, or a
                       warning or console line mentioning a denial, fails it)
  dry_run              a dry-run ingest into a temporary database wrote nothing

Each item is pass, FAIL, skip, or lint: it works but something is doubtful
(a param's min/max on a non-integer, a collection not ingestible without a
reason, validateConnection returning nothing, asset fields the host drops).
A lint does not fail the check. A manifest the host would refuse (a reserved
flag such as --name, a grant on the wrong kind, a default of the wrong type,
min > max) fails 'manifest'.

  --collection ID      check only this collection (default: the first ingestible
                       collection of each kind)
  --timeout SECONDS    deadline per call (default 30)

Exit 0 only when no item failed (skipped and lint items do not fail), 1 otherwise.
Give <module> first, then its options; '<module> --help' lists them.
`;

const checkCommand: Command = {
  path: ["importer", "check"],
  summary: "Run the contributor checklist against an importer module and a live upstream",
  async help(ctx) {
    const arg = ctx.args[0];
    if (arg === undefined || arg.startsWith("-")) return CHECK_HELP;
    let file: string;
    try {
      file = _resolveModule(ctx, arg);
    } catch {
      return CHECK_HELP;
    }
    const isolation = await ctx.isolation().catch(() => undefined);
    const [info] = await loadManifests([file], {
      timeoutMs: 15_000,
      isolation: isolation?.level,
    });
    if (info.status === "broken") return `${CHECK_HELP}\n${arg}: broken: ${info.reason}\n`;
    const kinds: CollectionKind[] = ["movies", "shows", "mixed", "other"];
    const filters = kinds.map((k) => {
      const declared = info.manifest.capabilities.filters[k] ?? [];
      const host = FILTER_ORDER.filter((f) => !declared.includes(f));
      return `  ${k}: pushed down: ${declared.join(", ") || "none"}` +
        (host.length ? `; not pushed down (host filters): ${host.join(", ")}` : "");
    });
    return `${CHECK_HELP}\nOptions of ${info.typeId} (${arg}):\n${
      paramHelp(info.manifest.params)
    }\nFilters of ${info.typeId}:\n${filters.join("\n")}\n`;
  },
  async run(ctx) {
    const file = _resolveModule(ctx, ctx.args[0]);
    const isolation = await ctx.isolation();
    const limits = ctx.limits();
    const { info, others } = await _loadForCheck(file, { env: ctx.env, isolation });
    if (info.status === "broken") {
      // The options cannot be checked without a manifest: report why it did not load.
      return _finish(ctx, await runImporterCheck({ info, others, config: {}, isolation }));
    }
    const params = info.manifest.params;
    const { values, raw: given, secretFiles, secretEnvs } = parseTypeArgs(
      { args: ctx.args.slice(1), path: ctx.path },
      params,
      { collection: { type: "string" }, timeout: { type: "string" } },
    );
    const raw = await readSecretInputs(ctx, { params, raw: given, secretFiles, secretEnvs });
    let timeoutMs = 30_000;
    if (values.timeout !== undefined) {
      const seconds = Number(values.timeout);
      if (!Number.isFinite(seconds) || seconds <= 0) {
        throw new RetrovueError("USAGE", "--timeout needs a positive number of seconds");
      }
      timeoutMs = Math.round(seconds * 1000);
    }
    const config = validateConfig(params, raw, { cwd: ctx.cwd });
    ctx.addSecrets([...secretValues(params, config), WRONG_CREDENTIAL]);
    await startingPlugin(ctx, { typeId: info.typeId, builtin: _isBuiltin(info.file) });
    return _finish(
      ctx,
      await runImporterCheck({
        info,
        others,
        config,
        isolation,
        limits,
        collection: values.collection,
        timeoutMs,
        signal: ctx.signal,
      }),
    );
  },
};

function _finish(ctx: CommandContext, report: CheckReport): Promise<number> {
  if (ctx.json) writeJson(ctx, report);
  else ctx.stdout.write(_formatReport(report, ctx.color));
  return Promise.resolve(report.status === "pass" ? 0 : 1);
}

/** The `importer …` commands. */
export const commands: Command[] = [newCommand, checkCommand];

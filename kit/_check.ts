/**
 * The importer checklist: loads nothing itself, runs a loaded module in its
 * sandbox against a live upstream and reports every item.
 *
 * @module
 */

import { secretValues } from "../core/config.ts";
import type { ImporterConfig, ParamSpec } from "../core/contract.ts";
import { toRetrovueError } from "../core/errors.ts";
import {
  type CallOptions,
  type ImporterClient,
  type ImporterTypeInfo,
  type Isolation,
  type Limits,
  openImporterClient,
  type PluginNotice,
  type ValidCollectionInfo,
} from "../registry/mod.ts";
import type { CallHelpers } from "./_check_assets.ts";
import { checkCollection, COLLECTION_ITEMS } from "./_check_collection.ts";
import { FILTER_ORDER } from "./_check_filters.ts";
import { MANIFEST_CHECKS } from "./_check_manifest.ts";
import { checklist, type CheckOutcome, type CheckReport, worstOutcome } from "./_report.ts";

/** Options for {@link runImporterCheck}. */
export interface ImporterCheckOptions {
  /** The loaded module (from `loadManifests`). */
  info: ImporterTypeInfo;
  /** Other importers' manifests (built-ins and plugin folders), for the uniqueness check. */
  others: readonly ImporterTypeInfo[];
  /** The validated config (ignored when the module is broken). */
  config: ImporterConfig;
  /** The isolation plugin hosts get here (`probeIsolation` in `registry/mod.ts`). */
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
const DENIAL = /sandbox denied|Requires \w+ access|NotCapable/i;

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
  const list = checklist();
  const { add } = list;
  const report = (): CheckReport => ({
    status: list.status(),
    module: info.file,
    typeId: info.typeId ?? null,
    isolation: options.isolation,
    checks: list.items,
  });
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
    add("manifest", ["fail", info.reason]);
    list.skip(["unique_type_id", ...LATER], "the manifest did not load");
    return report();
  }
  const m = info.manifest;
  await list.run(MANIFEST_CHECKS, { info, others: options.others });

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
    add("validate_connection", ["fail", describe("starting the importer", error)]);
    list.skip(LATER.slice(1), "the importer did not start");
    return report();
  }
  try {
    // -------------------------------------------------- validate_connection
    let connected = false;
    try {
      const conn = await client.validateConnection(callOptions());
      connected = true;
      if (!conn.serverName && !conn.version && !conn.serverId) {
        add("validate_connection", [
          "lint",
          "connected, but validateConnection returned no serverName, version or serverId: " +
          "operators cannot tell which server they reached",
        ]);
      } else add("validate_connection", ["pass", _connText(conn)]);
    } catch (error) {
      add("validate_connection", ["fail", describe("validateConnection", error)]);
    }

    // ---------------------------------------------------------- auth_failed
    const secrets = m.params.filter((p) => p.secret);
    if (secrets.length === 0) add("auth_failed", ["skip", "the importer has no secret param"]);
    else if (!connected) add("auth_failed", ["skip", "validateConnection did not succeed"]);
    else add("auth_failed", await _checkAuth(info, { ...options, secrets, describe }));

    // ----------------------------------------------------- list_collections
    let collections: ValidCollectionInfo[] | undefined;
    try {
      collections = await client.listCollections(callOptions());
      add("list_collections", _listText(collections));
    } catch (error) {
      add("list_collections", ["fail", describe("listCollections", error)]);
    }

    // ------------------- fetch_assets, filters, determinism, dry_run per collection
    const targets = _pickCollections(collections, options.collection);
    const perCollection = new Map<string, CheckOutcome[]>();
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
        const results = await checkCollection(target, {
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
      add(name, worstOutcome(perCollection.get(name)!));
    }

    // ------------------------------------------------------------- sandbox
    if (denials.length) {
      add("sandbox", [
        "fail",
        `the importer attempted something its sandbox forbids: ${
          [...new Set(denials)].slice(0, 2).join("; ")
        }`,
      ]);
    } else {
      add("sandbox", [
        "pass",
        `no call was denied by the sandbox (${notices.length} notice(s) reviewed)`,
      ]);
    }
    add("dry_run", worstOutcome(perCollection.get("dry_run")!));
  } finally {
    await client.close();
  }
  return report();
}

function _listText(collections: readonly ValidCollectionInfo[]): CheckOutcome {
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

function _connText(conn: { serverName?: string; version?: string; serverId?: string }): string {
  const parts = [conn.serverName, conn.version].filter((p) => p);
  return parts.length ? `connected to ${parts.join(" ")}` : "connected";
}

/** The `auth_failed` item: a wrong value in every secret param must raise `AUTH_FAILED`. */
async function _checkAuth(
  info: Extract<ImporterTypeInfo, { status: "available" }>,
  options: ImporterCheckOptions & Pick<CallHelpers, "describe"> & { secrets: readonly ParamSpec[] },
): Promise<CheckOutcome> {
  const { secrets, describe } = options;
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

/**
 * Shared pieces of the catalog commands: importer availability, opening a
 * sandboxed client, parsing a type's flags, and the `--json` shapes of
 * sources and collections (documented in `docs/cli.md`).
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { resolve } from "node:path";
import type { ParseArgsOptionsConfig } from "node:util";
import type { ImporterConfig, ParamSpec } from "../core/contract.ts";
import { MASK, maskConfig, type RawValue, secretValues } from "../core/config.ts";
import type { CollectionRecord, SourceRecord } from "../core/catalog.ts";
import { transaction } from "../core/db.ts";
import { RetrovueError } from "../core/errors.ts";
import type { ImporterClient, ImporterTypeInfo, Isolation, Registry } from "../registry/mod.ts";
import { type CommandContext, parseCommandArgs, type ParseCommandArgsOptions } from "./command.ts";
import { inertLine } from "./inert.ts";

/** An available importer type. */
export type AvailableType = Extract<ImporterTypeInfo, { status: "available" }>;

/** Whether a source's importer is loaded, and why not. */
export interface ImporterStatus {
  /** `available` or `unavailable`. */
  status: "available" | "unavailable";
  /** Why it is unavailable (null when available). */
  reason: string | null;
}

/**
 * The availability of importer type `typeId` in `registry`. When it is not
 * installed but some plugin module failed to load before saying which type it
 * is, the reason names those modules: the type may well be one of them, and
 * "not installed" alone would send the operator to a folder already listed.
 */
export function importerStatus(registry: Registry, typeId: string): ImporterStatus {
  if (registry.get(typeId)) return { status: "available", reason: null };
  const broken = registry.types.find((t) => t.typeId === typeId && t.status === "broken");
  if (broken && broken.status === "broken") {
    return {
      status: "unavailable",
      reason: `importer type '${typeId}' is broken: ${broken.reason} (${broken.file})`,
    };
  }
  const failed = _failedModules(registry);
  return {
    status: "unavailable",
    reason: `importer type '${typeId}' is not installed` + (failed ? `; ${failed}` : ""),
  };
}

/**
 * `1 module in RETROVUE_PLUGIN_PATH failed to load (path: reason); see
 * 'source list-types'` for the modules that failed before naming a type, or
 * "" when there are none.
 */
function _failedModules(registry: Registry): string {
  const failed = registry.types.filter((t) => t.status === "broken" && t.typeId === undefined);
  if (failed.length === 0) return "";
  const list =
    failed.slice(0, 3).map((t) =>
      `${t.file}: ${t.status === "broken" ? t.reason.slice(0, 200) : ""}`
    ).join("; ") + (failed.length > 3 ? "; …" : "");
  const count = failed.length === 1 ? "1 module" : `${failed.length} modules`;
  return `${count} in RETROVUE_PLUGIN_PATH failed to load (${list}); see 'source list-types'`;
}

/** `available` or `unavailable: <reason>`, for tables. */
export function statusText(status: ImporterStatus): string {
  return status.status === "available" ? "available" : `unavailable: ${status.reason}`;
}

/**
 * The loaded importer for a source, or `IMPORTER_UNAVAILABLE` naming the
 * missing type and what to do: fix a module that failed to load, or add the
 * importer's folder to `RETROVUE_PLUGIN_PATH` when nothing there failed.
 */
export function requireImporter(registry: Registry, source: SourceRecord): AvailableType {
  const info = registry.get(source.typeId);
  if (info) return info;
  const { reason } = importerStatus(registry, source.typeId);
  const why = reason?.replace(`importer type '${source.typeId}' is `, "") ?? "not installed";
  const failing = why.startsWith("broken:") || why.includes("failed to load");
  throw new RetrovueError(
    "IMPORTER_UNAVAILABLE",
    `source '${source.name}' (${source.id}) uses importer type '${source.typeId}', which is ` +
      `${why}` +
      (failing ? "" : "; run 'source list-types' to see what is installed, or add the importer's " +
        "folder to RETROVUE_PLUGIN_PATH"),
    { details: { typeId: source.typeId } },
  );
}

/** Names of the available types, sorted, for error messages. */
export function availableTypeIds(registry: Registry): string[] {
  return registry.types.filter((t) => t.status === "available").map((t) => t.typeId!).sort();
}

/**
 * An isolation as `--json` shows it (`source list-types`, `importer check`):
 * `level`, `mode`, and `reason` only when there is one.
 */
export function isolationJson(isolation: Isolation): Isolation {
  const { level, mode, reason } = isolation;
  return reason === undefined ? { level, mode } : { level, mode, reason };
}

/** What {@link startingPlugin} needs to know about the plugin about to start. */
export interface StartingPlugin {
  /** Its type id, for the error. */
  typeId: string;
  /** Whether it is a built-in importer (those run even where OS isolation is required). */
  builtin: boolean;
}

/**
 * The one place every command goes through just before it starts a plugin
 * (`withClient`, `importer check`): resolves the isolation, refuses a
 * third-party plugin with `ISOLATION_REQUIRED` when `RETROVUE_ISOLATION=required`
 * and OS isolation is unavailable, and otherwise, at level `deno`, has the
 * context say so once on stderr (see `CommandContext.warnIsolation`).
 */
export async function startingPlugin(
  ctx: Pick<CommandContext, "isolation" | "warnIsolation">,
  plugin: StartingPlugin,
): Promise<Isolation> {
  const isolation = await ctx.isolation();
  // Loaded here (the isolation above has loaded it already): commands that
  // start no plugin, such as `collection list`, do not load the registry.
  const { refuseUnisolated } = await import("../registry/mod.ts");
  refuseUnisolated(isolation, plugin);
  ctx.warnIsolation(isolation);
  return isolation;
}

/** The importer {@link withClient} opens: its registry entry and the source's config. */
export interface ClientTarget {
  /** The registry that opens it. */
  registry: Registry;
  /** The installed importer type. */
  info: AvailableType;
  /** The source's validated config. */
  config: ImporterConfig;
  /** See `OpenOptions.onStarted`: runs once the plugin host has been started. */
  onStarted?: () => void;
}

/**
 * Opens a sandboxed client for `target.info` with `target.config`, runs `fn`, and always
 * closes the client. The config's secrets are registered for scrubbing first;
 * {@link startingPlugin} runs before the plugin starts.
 */
export async function withClient<T>(
  ctx: CommandContext,
  fn: (client: ImporterClient) => Promise<T>,
  target: ClientTarget,
): Promise<T> {
  ctx.addSecrets(secretValues(target.info.manifest.params, target.config));
  await startingPlugin(ctx, {
    typeId: target.info.typeId,
    builtin: target.registry.isBuiltin(target.info.file),
  });
  const client = await target.registry.open(target.info.typeId, target.config, {
    onStarted: target.onStarted,
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Options of {@link writeOrDryRun}. */
export interface WriteOrDryRunOptions {
  /** Roll the transaction back instead of committing it. */
  dryRun: boolean;
}

/**
 * Runs `fn` in a transaction that is committed, or rolled back when
 * `options.dryRun` (so a dry run computes exactly the same result and writes nothing).
 */
export function writeOrDryRun<T>(
  db: DatabaseSync,
  fn: () => T,
  options: WriteOrDryRunOptions,
): T {
  if (!options.dryRun) return transaction(db, fn, { immediate: true });
  const rollback = Symbol("dry-run");
  let result: T | undefined;
  try {
    transaction(db, () => {
      result = fn();
      throw rollback;
    }, { immediate: true });
  } catch (error) {
    if (error !== rollback) throw error;
  }
  return result as T;
}

// ------------------------------------------------------------ type flags

/** Flags a type's params may not use because the CLI's own options use them. */
const RESERVED = new Set(["help", "json", "db", "test-db", "output"]);

/** What {@link parseTypeArgs} returns. */
export interface TypeArgs<V> {
  /** The command's own options. */
  values: V;
  /** Positional arguments. */
  positionals: string[];
  /** Raw values of the type's params that were given, keyed by param name. */
  raw: Record<string, RawValue>;
  /**
   * Paths given with a secret param's `--<flag>-file`, keyed by param name
   * (read by {@link readSecretInputs}).
   */
  secretFiles: Record<string, string>;
  /**
   * Environment variable names given with a secret param's `--<flag>-env`,
   * keyed by param name (read by {@link readSecretInputs}).
   */
  secretEnvs: Record<string, string>;
}

/** Options of {@link parseTypeArgs}: the type's params, and the positional rules. */
export interface ParseTypeArgsOptions extends ParseCommandArgsOptions {
  /** The params of the importer (or enricher) type, one flag each. */
  params: readonly ParamSpec[];
}

/**
 * Parses the command's own `options` plus one flag per param of the type
 * (`extra.params`; strings may repeat; booleans accept `--flag`, `--no-flag` and
 * `--flag=VALUE`). Unknown flags are one-line `USAGE` errors.
 */
export function parseTypeArgs<T extends ParseArgsOptionsConfig>(
  ctx: Pick<CommandContext, "args" | "path">,
  options: T,
  extra: ParseTypeArgsOptions,
): TypeArgs<ReturnType<typeof parseCommandArgs<T>>["values"]> {
  const { params, ...commandExtra } = extra;
  const raw: Record<string, RawValue> = {};
  const typeOptions: ParseArgsOptionsConfig = {};
  const booleans = new Map<string, ParamSpec>();
  const secretForms = new Map<string, { param: ParamSpec; suffix: string }>();
  const paramKeys = new Set(params.map((p) => p.flag.slice(2)));
  for (const p of params) {
    const key = p.flag.slice(2);
    if (RESERVED.has(key) || key in options) {
      throw new RetrovueError(
        "PLUGIN_ERROR",
        `the importer declares option '${p.flag}', which the CLI itself uses`,
      );
    }
    if (p.kind === "boolean") booleans.set(key, p);
    else typeOptions[key] = { type: "string", multiple: true };
    if (!p.secret || p.kind === "boolean") continue;
    for (const suffix of [SECRET_FILE_SUFFIX, SECRET_ENV_SUFFIX]) {
      const formKey = `${key}${suffix}`;
      if (RESERVED.has(formKey) || formKey in options || paramKeys.has(formKey)) {
        throw new RetrovueError(
          "PLUGIN_ERROR",
          `the importer declares option '--${formKey}', which the CLI uses for secret '${p.flag}'`,
        );
      }
      secretForms.set(formKey, { param: p, suffix });
      typeOptions[formKey] = { type: "string", multiple: true };
    }
  }
  const args: string[] = [];
  for (let i = 0; i < ctx.args.length; i++) {
    const arg = ctx.args[i];
    if (arg === "--") {
      args.push(...ctx.args.slice(i));
      break;
    }
    _refuseFileFormOfPlain(arg, { params, declared: typeOptions, options });
    const m = /^--(no-)?([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    const p = m ? booleans.get(m[2]) : undefined;
    if (!m || !p) {
      args.push(arg);
      continue;
    }
    if (m[1] && m[3] !== undefined) {
      throw new RetrovueError("USAGE", `option '--no-${m[2]}' does not take a value`);
    }
    raw[p.name] = m[1] ? false : (m[3] ?? true);
  }
  const parsed = parseCommandArgs(
    { args, path: ctx.path },
    { ...typeOptions, ...options },
    commandExtra,
  );
  const values = parsed.values as Record<string, unknown>;
  for (const p of params) {
    const v = values[p.flag.slice(2)];
    if (p.kind === "boolean" || v === undefined) continue;
    const list = v as string[];
    raw[p.name] = list.length === 1 ? list[0] : list;
  }
  const secretFiles: Record<string, string> = {};
  const secretEnvs: Record<string, string> = {};
  const given = new Map<string, string>();
  for (const [formKey, { param: p, suffix }] of secretForms) {
    const v = values[formKey] as string[] | undefined;
    if (v === undefined) continue;
    if (v.length > 1) {
      throw new RetrovueError("USAGE", `option '--${formKey}' may be given only once`);
    }
    const other = raw[p.name] !== undefined ? p.flag : given.get(p.name);
    if (other !== undefined) {
      throw new RetrovueError("USAGE", `give either '${other}' or '--${formKey}', not both`);
    }
    given.set(p.name, `--${formKey}`);
    (suffix === SECRET_FILE_SUFFIX ? secretFiles : secretEnvs)[p.name] = v[0];
  }
  return { values: parsed.values, positionals: parsed.positionals, raw, secretFiles, secretEnvs };
}

/** Suffix of the flag that reads a secret param's value from a file (`--token-file PATH`). */
export const SECRET_FILE_SUFFIX = "-file";

/**
 * Suffix of the flag that reads a secret param's value from an environment
 * variable the operator names (`--token-env NAME`).
 */
export const SECRET_ENV_SUFFIX = "-env";

/**
 * The prefix of environment variable names the `retrovue` task (and the
 * installed command and the binary) may read for `--<flag>-env`: its
 * `--allow-env` list names the CLI's own variables plus `RETROVUE_SECRET_*`.
 */
export const SECRET_ENV_PREFIX = "RETROVUE_SECRET_";

/** Largest secret read from a file or standard input, in bytes (64 KiB). */
export const MAX_SECRET_BYTES = 64 * 1024;

function _refuseFileFormOfPlain(
  arg: string,
  known: {
    params: readonly ParamSpec[];
    declared: ParseArgsOptionsConfig;
    options: ParseArgsOptionsConfig;
  },
): void {
  const m = /^--([a-z][a-z0-9-]*)(-file|-env)(?:=.*)?$/s.exec(arg);
  const form = m ? `${m[1]}${m[2]}` : "";
  if (!m || form in known.declared || form in known.options) return;
  const p = known.params.find((q) => q.flag === `--${m[1]}`);
  if (!p) return;
  throw new RetrovueError(
    "USAGE",
    `option '--${form}' exists only for secret options; '${p.flag}' is not secret, ` +
      `give its value directly`,
  );
}

/** What {@link readSecretInputs} reads: the secret-bearing part of {@link TypeArgs}. */
export interface SecretInputs {
  /** The type's params. */
  params: readonly ParamSpec[];
  /** Raw values as parsed; a secret given as `-` is read from standard input. */
  raw: Record<string, RawValue>;
  /** `--<flag>-file` paths keyed by param name. */
  secretFiles: Record<string, string>;
  /** `--<flag>-env` variable names keyed by param name. */
  secretEnvs?: Record<string, string>;
}

/**
 * Resolves the forms that keep secrets off the command line (where `deno
 * task` echoes them, shell history keeps them and `ps` shows them):
 * `--<flag>-file PATH` reads the value from a file (relative to the command's
 * cwd), `--<flag>-env NAME` reads environment variable NAME (which Deno's
 * permissions must allow: see {@link SECRET_ENV_PREFIX}), and `--<flag> -`
 * reads the first line of standard input. One trailing newline (LF or CRLF)
 * is stripped from a file; an empty value, a value over 64 KiB, an unset or
 * unreadable variable, or an unreadable file is a one-line `CONFIG_INVALID`
 * naming the flag, never the value. Returns `raw` with those values filled
 * in, registered for scrubbing.
 */
export async function readSecretInputs(
  ctx: Pick<CommandContext, "cwd" | "prompt" | "addSecrets">,
  input: SecretInputs,
): Promise<Record<string, RawValue>> {
  const raw: Record<string, RawValue> = { ...input.raw };
  const fromStdin = input.params.filter((p) => {
    const v = raw[p.name];
    return p.secret && p.kind !== "boolean" && (Array.isArray(v) ? v.includes("-") : v === "-");
  });
  const dashes = fromStdin.flatMap((p) => [raw[p.name]].flat().filter((v) => v === "-"));
  if (dashes.length > 1) {
    throw new RetrovueError(
      "USAGE",
      `only one secret option may read standard input ('-'); use '--<option>-file PATH' for others`,
    );
  }
  const read: string[] = [];
  for (const p of fromStdin) {
    const value = _checkedSecret(`${p.flag} -`, (await ctx.prompt("")) ?? "", "standard input");
    const v = raw[p.name];
    raw[p.name] = Array.isArray(v) ? v.map((x) => x === "-" ? value : x) : value;
    read.push(value);
  }
  for (const p of input.params) {
    const path = input.secretFiles[p.name];
    if (path === undefined) continue;
    const value = await _readSecretFile(`${p.flag}${SECRET_FILE_SUFFIX}`, resolve(ctx.cwd, path));
    raw[p.name] = value;
    read.push(value);
  }
  for (const p of input.params) {
    const name = input.secretEnvs?.[p.name];
    if (name === undefined) continue;
    const value = _readSecretEnv(`${p.flag}${SECRET_ENV_SUFFIX}`, name);
    raw[p.name] = value;
    read.push(value);
  }
  ctx.addSecrets(read);
  return raw;
}

function _readSecretEnv(flag: string, name: string): string {
  const fail = (why: string) =>
    new RetrovueError("CONFIG_INVALID", `${flag}: ${why}`, { details: { flag } });
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw fail(`'${inertLine(name.slice(0, 80))}' is not an environment variable name`);
  }
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    throw fail(
      `this command may not read environment variable '${name}'; name one that starts with ` +
        `${SECRET_ENV_PREFIX} (e.g. ${SECRET_ENV_PREFIX}${name}), or use '${
          flag.replace(/-env$/, "-file")
        } PATH'`,
    );
  }
  const value = Deno.env.get(name);
  if (value === undefined) throw fail(`environment variable '${name}' is not set`);
  return _checkedSecret(flag, value, `environment variable '${name}'`);
}

async function _readSecretFile(flag: string, path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Error("not a regular file");
    if (info.size > MAX_SECRET_BYTES) {
      throw new RetrovueError("CONFIG_INVALID", `${flag}: '${path}' is larger than 64 KiB`, {
        details: { flag },
      });
    }
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof RetrovueError) throw error;
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (error as Error).message.split("\n")[0];
    throw new RetrovueError("CONFIG_INVALID", `${flag}: cannot read '${path}': ${reason}`, {
      details: { flag },
    });
  }
  return _checkedSecret(flag, new TextDecoder().decode(bytes).replace(/\r?\n$/, ""), `'${path}'`);
}

function _checkedSecret(flag: string, value: string, what: string): string {
  if (value === "") {
    throw new RetrovueError("CONFIG_INVALID", `${flag}: ${what} is empty`, { details: { flag } });
  }
  if (new TextEncoder().encode(value).length > MAX_SECRET_BYTES) {
    throw new RetrovueError("CONFIG_INVALID", `${flag}: ${what} is larger than 64 KiB`, {
      details: { flag },
    });
  }
  return value;
}

/** Help lines describing a type's params (never a secret's default). */
export function paramHelp(params: readonly ParamSpec[]): string {
  if (params.length === 0) return "  (this type has no options)\n";
  const rows = params.map((p) => {
    const notes: string[] = [];
    if (p.required) notes.push("required");
    if (p.multiple) notes.push("repeatable");
    if (p.named) notes.push("NAME=VALUE allowed");
    if (p.secret) notes.push("secret");
    if (p.grants) notes.push(`grants ${p.grants}`);
    if (p.default !== undefined && !p.secret) notes.push(`default: ${p.default}`);
    if (p.min !== undefined || p.max !== undefined) {
      notes.push(`range: ${p.min ?? ""}..${p.max ?? ""}`);
    }
    const flag = p.kind === "boolean"
      ? `${p.flag}[=BOOL], --no-${p.flag.slice(2)}`
      : p.secret
      ? `${p.flag} ${p.kind.toUpperCase()}|-, ${p.flag}${SECRET_FILE_SUFFIX} PATH, ` +
        `${p.flag}${SECRET_ENV_SUFFIX} NAME`
      : `${p.flag} ${p.kind.toUpperCase()}`;
    // The plugin's words (description, default): one line each, inert.
    return [flag, inertLine(p.description + (notes.length ? ` (${notes.join("; ")})` : ""))];
  });
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`).join("\n") + "\n";
}

// ---------------------------------------------------------- JSON shapes

/** `--json` shape of a source. */
export interface SourceJson {
  /** Stable id. */
  id: string;
  /** Name. */
  name: string;
  /** Importer type id. */
  type: string;
  /** Importer availability. */
  status: "available" | "unavailable";
  /** Why unavailable, else null. */
  reason: string | null;
  /** Config with secrets masked (every value masked when the type is unknown). */
  config: ImporterConfig;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC. */
  updatedAt: string;
}

/**
 * A source's config for display: secrets masked by the manifest, or every
 * value masked when the importer (and so which values are secret) is unknown.
 */
export function displayConfig(
  source: SourceRecord,
  params: readonly ParamSpec[] | undefined,
): ImporterConfig {
  if (params) return maskConfig(params, source.config);
  return Object.fromEntries(Object.keys(source.config).map((k) => [k, MASK]));
}

/** What {@link sourceJson} shows beside the record: its importer's status and params. */
export interface SourceJsonOptions {
  /** Whether its importer is installed. */
  status: ImporterStatus;
  /** The importer's params (which values are secret); undefined masks every value. */
  params: readonly ParamSpec[] | undefined;
}

/** The `--json` shape of a source. */
export function sourceJson(source: SourceRecord, options: SourceJsonOptions): SourceJson {
  const { status, params } = options;
  return {
    id: source.id,
    name: source.name,
    type: source.typeId,
    status: status.status,
    reason: status.reason,
    config: displayConfig(source, params),
    createdAt: source.createdAt,
    updatedAt: source.updatedAt,
  };
}

/** `--json` shape of a collection. */
export interface CollectionJson {
  /** Stable id. */
  id: string;
  /** Owning source id. */
  sourceId: string;
  /** Owning source name. */
  sourceName: string;
  /** Upstream id. */
  externalId: string;
  /** Name. */
  name: string;
  /** movies | shows | mixed | other. */
  kind: string;
  /** Upstream locations. */
  locations: string[];
  /** Operator intent. */
  syncEnabled: boolean;
  /** System eligibility. */
  ingestible: boolean;
  /** Why not ingestible, else null. */
  ingestibleReason: string | null;
  /** Not seen by the last discovery. */
  missingUpstream: boolean;
  /** ISO-8601 UTC or null. */
  lastIngestTime: string | null;
  /** The removal guard's limit in percent (`--max-removal`), or null for the default (50). */
  maxRemovalPercent: number | null;
  /** Path mappings. */
  pathMappings: { external: string; local: string }[];
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC. */
  updatedAt: string;
}

/** The `--json` shape of a collection. */
export function collectionJson(c: CollectionRecord, sourceName: string): CollectionJson {
  return {
    id: c.id,
    sourceId: c.sourceId,
    sourceName,
    externalId: c.externalId,
    name: c.name,
    kind: c.kind,
    locations: c.locations,
    syncEnabled: c.syncEnabled,
    ingestible: c.ingestible,
    ingestibleReason: c.ingestibleReason,
    missingUpstream: c.missingUpstream,
    lastIngestTime: c.lastIngestTime,
    maxRemovalPercent: c.maxRemovalPercent,
    pathMappings: c.pathMappings.map((m) => ({ external: m.externalPrefix, local: m.localPrefix })),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

/** Short status words for a collection: `sync on/off`, `not ingestible`, `missing upstream`. */
export function collectionState(c: CollectionRecord): string {
  const parts = [c.syncEnabled ? "sync on" : "sync off"];
  if (!c.ingestible) parts.push(`not ingestible: ${c.ingestibleReason ?? "unknown reason"}`);
  if (c.missingUpstream) parts.push("missing upstream");
  return parts.join(", ");
}

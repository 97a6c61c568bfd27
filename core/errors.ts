/**
 * Typed errors shared by every layer of RetroVue.
 *
 * Every failure that can reach an operator or a script carries a stable
 * {@link ErrorCode}. The CLI maps codes to exit statuses and to the
 * `{"status":"error","error":{"code","message"}}` JSON shape, so a code, once
 * published, never changes meaning.
 *
 * @module
 */

import type { ImporterErrorCode } from "./contract.ts";
import type { EnricherErrorCode } from "./enricher_contract.ts";

export type { EnricherErrorCode, ImporterErrorCode };

/** Codes an importer may raise; they cross the worker boundary unchanged. */
export const IMPORTER_ERROR_CODES = [
  "AUTH_FAILED",
  "UNREACHABLE",
  "MALFORMED_RESPONSE",
  "COLLECTION_NOT_FOUND",
  "CONFIG_INVALID",
  "UNSUPPORTED",
] as const satisfies readonly ImporterErrorCode[];

/** Codes an enricher may raise for one asset; they cross the worker boundary unchanged. */
export const ENRICHER_ERROR_CODES = [
  "FILE_UNREADABLE",
  "MEDIA_INVALID",
  "TOOL_FAILED",
  "CONFIG_INVALID",
  "UNSUPPORTED",
] as const satisfies readonly EnricherErrorCode[];

/** Codes the runtime adds around importers (sandbox, RPC, process boundary). */
export const RUNTIME_ERROR_CODES = [
  "PERMISSION_DENIED",
  "PLUGIN_CRASHED",
  "PLUGIN_ERROR",
  "TIMEOUT",
  "CANCELLED",
  "IMPORTER_UNAVAILABLE",
  "ENRICHER_UNAVAILABLE",
  "DUPLICATE_TYPE",
  "LIMIT_EXCEEDED",
  "ISOLATION_REQUIRED",
] as const;

/** Codes for operator-facing failures in the host (CLI, catalog, ingest). */
export const HOST_ERROR_CODES = [
  "USAGE",
  "NOT_FOUND",
  "AMBIGUOUS",
  "CONFLICT",
  "NOT_INGESTIBLE",
  "SCOPE_EMPTY",
  "REMOVAL_GUARD",
  "DB_BUSY",
  "DB_ERROR",
  "DB_NOT_FOUND",
  "DB_FOREIGN",
  "SCHEMA_TOO_NEW",
  "INTERNAL",
] as const;

/** Every stable error code RetroVue reports. */
export type ErrorCode =
  | ImporterErrorCode
  | EnricherErrorCode
  | typeof RUNTIME_ERROR_CODES[number]
  | typeof HOST_ERROR_CODES[number];

/** All codes, for validating codes that arrive from untrusted places. */
export const ERROR_CODES: readonly ErrorCode[] = [
  ...IMPORTER_ERROR_CODES,
  ...ENRICHER_ERROR_CODES.filter((c) => !(IMPORTER_ERROR_CODES as readonly string[]).includes(c)),
  ...RUNTIME_ERROR_CODES,
  ...HOST_ERROR_CODES,
];

/** Options for {@link RetrovueError}. */
export interface RetrovueErrorOptions {
  /** Whether trying the same operation again later may succeed. */
  retryable?: boolean;
  /** Structured details safe to print (never secrets). */
  details?: Record<string, unknown>;
  /** The underlying error, kept for `RETROVUE_DEBUG` stack traces only. */
  cause?: unknown;
}

/**
 * The one error class RetroVue throws on purpose. `code` is stable; `message`
 * is a single human sentence that says what to check.
 */
export class RetrovueError extends Error {
  /** The stable machine-readable code. */
  readonly code: ErrorCode;
  /** Whether trying again later may succeed. */
  readonly retryable: boolean;
  /** Structured, printable details. */
  readonly details?: Record<string, unknown>;

  /** Creates an error with a stable code and a one-line message. */
  constructor(code: ErrorCode, message: string, options: RetrovueErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RetrovueError";
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

/** Whether `value` is a known {@link ErrorCode}. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/** The process exit status for an error: 3 when upstream is unreachable, else 1. */
export function exitCodeFor(error: unknown): number {
  return error instanceof RetrovueError && error.code === "UNREACHABLE" ? 3 : 1;
}

/**
 * Wraps anything thrown into a {@link RetrovueError}. An error of the
 * catalog's SQLite that the operator can act on is `DB_BUSY` or `DB_ERROR`
 * (see {@link sqliteError}); other unknown errors (a bug of ours among them)
 * become `INTERNAL`, keeping the original as `cause` for debugging.
 */
export function toRetrovueError(error: unknown): RetrovueError {
  if (error instanceof RetrovueError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const known = sqliteError(error);
  if (known) return known;
  return new RetrovueError("INTERNAL", message, { cause: error });
}

/**
 * What a `node:sqlite` error means to an operator, when it is a condition of
 * the catalog rather than of our code: `DB_BUSY` (another command is
 * writing; worth a retry), or `DB_ERROR` saying the file is damaged (corrupt,
 * or not a database any more) and what to do, or that the disk failed, is
 * full or is read-only. Undefined for anything else.
 */
export function sqliteError(error: unknown): RetrovueError | undefined {
  if ((error as { code?: unknown } | null)?.code !== "ERR_SQLITE_ERROR") return undefined;
  const message = (error as Error).message ?? "";
  if (/database is locked|SQLITE_BUSY/i.test(message)) {
    return new RetrovueError(
      "DB_BUSY",
      "the database is busy (another RetroVue command is writing); try again",
      { retryable: true, cause: error },
    );
  }
  if (/malformed|not a database|file is encrypted/i.test(message)) {
    return new RetrovueError(
      "DB_ERROR",
      `the catalog file is damaged (${message}); restore it from a backup ` +
        `(sqlite3 FILE 'PRAGMA integrity_check' shows what is wrong)`,
      { cause: error },
    );
  }
  if (/unable to open database/i.test(message)) {
    // SQLite writes beside the catalog (its -wal and -shm files): a folder it may not write
    // in fails every command, reads included.
    return new RetrovueError(
      "DB_ERROR",
      `database error: ${message} (SQLite keeps the catalog's -wal and -shm files beside it: ` +
        `its folder must be writable)`,
      { cause: error },
    );
  }
  if (/disk is full/i.test(message)) {
    // An ingest stages in SQLite's temporary files, which live elsewhere than the catalog.
    return new RetrovueError(
      "DB_ERROR",
      `database error: ${message} (the catalog's disk, or the temporary folder SQLite stages ` +
        `an ingest in: SQLITE_TMPDIR, else TMPDIR, else /var/tmp or /tmp)`,
      { cause: error },
    );
  }
  if (/disk I\/O error|readonly database/i.test(message)) {
    return new RetrovueError("DB_ERROR", `database error: ${message}`, { cause: error });
  }
  return undefined;
}

/**
 * Whether `signal` is aborted once a stop that arrived during SQLite's wait
 * for the write lock has been dispatched: that wait blocks the event loop, so
 * Ctrl-C or SIGTERM is only seen after the statement gave up with `DB_BUSY`.
 * Such a `DB_BUSY` is the operator's cancel, not a "try again".
 */
export async function stoppedDuringBusyWait(signal: AbortSignal): Promise<boolean> {
  for (let i = 0; i < 3 && !signal.aborted; i++) await new Promise((r) => setTimeout(r, 0));
  return signal.aborted;
}

/**
 * The named limits on what one plugin may send the host.
 *
 * Plugin output is untrusted: an endless stream of valid, maximal assets
 * would otherwise exhaust the CLI's memory. Each limit has a default that a
 * real library stays far below, an environment variable to raise it, and
 * exceeding it ends the call with `LIMIT_EXCEEDED`, naming the limit and the
 * variable; an ingest then leaves the catalog unchanged.
 *
 * | limit | default | raise with |
 * | --- | --- | --- |
 * | assets per `fetchAssets` stream | 5,000,000 | `RETROVUE_MAX_ASSETS` |
 * | bytes per `fetchAssets` stream | 1024 MiB | `RETROVUE_MAX_STREAM_MB` |
 * | bytes per message | 32 MiB | `RETROVUE_MAX_MESSAGE_MB` |
 * | log lines shown per call | 1000 | `RETROVUE_MAX_LOG_LINES` |
 *
 * Log lines beyond their limit are dropped (and counted in one warning),
 * never failing a call: a chatty plugin is not a broken one.
 *
 * @module
 */

import { RetrovueError } from "../core/errors.ts";

/** The limits one plugin's calls run under. */
export interface Limits {
  /** Assets one `fetchAssets` stream may yield. */
  maxAssets: number;
  /** Bytes (of encoded messages) one `fetchAssets` stream may carry. */
  maxStreamBytes: number;
  /** The largest single message a plugin may send. */
  maxMessageBytes: number;
  /** Log lines (console output, stdout, stderr) shown per call; later ones are dropped. */
  maxLogLines: number;
}

const MIB = 1024 * 1024;

/** The defaults. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxAssets: 5_000_000,
  maxStreamBytes: 1024 * MIB,
  maxMessageBytes: 32 * MIB,
  maxLogLines: 1000,
};

/** Each limit's environment variable and unit. */
export const LIMIT_SETTINGS: Readonly<
  Record<keyof Limits, { env: string; unit: "count" | "MiB"; what: string }>
> = {
  maxAssets: { env: "RETROVUE_MAX_ASSETS", unit: "count", what: "assets per stream" },
  maxStreamBytes: { env: "RETROVUE_MAX_STREAM_MB", unit: "MiB", what: "MiB per stream" },
  maxMessageBytes: { env: "RETROVUE_MAX_MESSAGE_MB", unit: "MiB", what: "MiB per message" },
  maxLogLines: { env: "RETROVUE_MAX_LOG_LINES", unit: "count", what: "log lines per call" },
};

/** The environment variable names {@link limitsFromEnv} reads. */
export const LIMIT_ENV_NAMES: readonly string[] = Object.values(LIMIT_SETTINGS).map((s) => s.env);

/**
 * The limits, with any set in the environment. Throws `USAGE` for a value
 * that is not a positive whole number.
 *
 * @example
 * ```ts
 * import { limitsFromEnv } from "./mod.ts";
 *
 * const limits = limitsFromEnv({ RETROVUE_MAX_ASSETS: "2000000" });
 * console.log(limits.maxAssets); // 2000000; the others keep their defaults
 * ```
 */
export function limitsFromEnv(env: Readonly<Record<string, string | undefined>>): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (
    const [key, setting] of Object.entries(LIMIT_SETTINGS) as [
      keyof Limits,
      typeof LIMIT_SETTINGS[keyof Limits],
    ][]
  ) {
    const raw = env[setting.env];
    if (raw === undefined || raw.trim() === "") continue;
    const n = Number(raw.trim());
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new RetrovueError(
        "USAGE",
        `${setting.env} must be a positive whole number (${setting.unit}); got '${raw}'`,
      );
    }
    limits[key] = setting.unit === "MiB" ? n * MIB : n;
  }
  return limits;
}

/** The `LIMIT_EXCEEDED` error for `limit`, naming it and how to raise it. */
export function limitExceeded(
  limit: keyof Limits,
  options: { limits: Limits; typeId: string },
): RetrovueError {
  const setting = LIMIT_SETTINGS[limit];
  const value = setting.unit === "MiB"
    ? Math.round(options.limits[limit] / MIB)
    : options.limits[limit];
  return new RetrovueError(
    "LIMIT_EXCEEDED",
    `importer '${options.typeId}' exceeded the limit of ${value} ${setting.what}; ` +
      `if the source really is that large, raise it with ${setting.env}`,
    { details: { limit: setting.env, value } },
  );
}

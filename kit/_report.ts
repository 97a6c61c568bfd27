/**
 * What `importer check` reports: one status and detail per checklist item.
 *
 * @module
 */

import type { Isolation } from "../registry/mod.ts";

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

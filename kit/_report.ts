/**
 * What a plugin checklist reports, and the shape every kit checker shares:
 * named {@link Check}s, each giving a {@link CheckOutcome}, collected in
 * order by a {@link Checklist}. `importer check` is built on it; a checker
 * for another kind of plugin (enrichers) reuses it with its own subject.
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

/** What one check found: its status and a one-line detail. */
export type CheckOutcome = [status: CheckStatus, detail: string];

/**
 * One named item of a checklist, run against a subject: what the item needs,
 * typically a live plugin client and what earlier items found. A plugin's
 * fault is an outcome (`fail`, `lint`), never a throw.
 */
export interface Check<Subject> {
  /** Stable name, e.g. `fetch_assets` (see `docs/cli.md`). */
  name: string;
  /** Runs the item. */
  run(subject: Subject): CheckOutcome | Promise<CheckOutcome>;
}

/** Collects a checklist's items in the order they ran; see {@link checklist}. */
export interface Checklist {
  /** Every item so far, in order. */
  readonly items: CheckItem[];
  /** Records one item; its detail is folded onto one line. */
  add(name: string, outcome: CheckOutcome): void;
  /** Records each of `names` as `skip`, with the same reason. */
  skip(names: readonly string[], why: string): void;
  /** Runs `checks` in order against one subject and records each outcome. */
  run<Subject>(checks: readonly Check<Subject>[], subject: Subject): Promise<void>;
  /** `fail` when an item failed, else `pass`: skipped and lint items do not fail a checklist. */
  status(): "pass" | "fail";
}

/** An empty {@link Checklist}. */
export function checklist(): Checklist {
  const items: CheckItem[] = [];
  const add = (name: string, [status, detail]: CheckOutcome) => {
    items.push({ name, status, detail: detail.replace(/\s+/g, " ").trim() });
  };
  return {
    items,
    add,
    skip: (names, why) => names.forEach((name) => add(name, ["skip", why])),
    async run(checks, subject) {
      for (const check of checks) add(check.name, await check.run(subject));
    },
    status: () => items.some((c) => c.status === "fail") ? "fail" : "pass",
  };
}

/** How bad a status is, for {@link worstOutcome}: a failure outweighs a lint, a lint a pass. */
const SEVERITY: Record<CheckStatus, number> = { skip: 0, pass: 1, lint: 2, fail: 3 };

/**
 * One item's outcomes over several subjects (one per collection, say) as
 * one: the worst status, every detail.
 */
export function worstOutcome(outcomes: readonly CheckOutcome[]): CheckOutcome {
  const status = outcomes.map((r) => r[0]).reduce((a, b) => SEVERITY[b] > SEVERITY[a] ? b : a);
  return [status, outcomes.map((r) => r[1]).join("; ")];
}

/** The whole report of `importer check`; `--json` prints it as is. */
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

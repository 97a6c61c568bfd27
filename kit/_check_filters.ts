/**
 * The filter items: each declared filter, with values taken from the fetched
 * assets, returns exactly the assets in that scope.
 *
 * @module
 */

import type { AssetFilters, FilterName } from "../core/contract.ts";
import { normalizeText } from "../ingest/normalize.ts";
import type { ImporterClient, ValidCollectionInfo } from "../registry/mod.ts";
import { type CallHelpers, fetchAll, type Fetched, idOf } from "./_check_assets.ts";
import type { CheckOutcome } from "./_report.ts";

/** The filters in the order the host pushes them down: each needs the ones before it. */
export const FILTER_ORDER: readonly FilterName[] = ["title", "season", "episode"];

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

/** What {@link checkFilter} checks against: the collection and its full, unfiltered run. */
export interface FilterCheckState extends CallHelpers {
  /** The importer's live client. */
  client: ImporterClient;
  /** The collection checked. */
  target: ValidCollectionInfo;
  /** The filters the manifest declares for its kind. */
  declared: readonly FilterName[];
  /** The valid assets of the full run. */
  valid: Record<string, unknown>[];
  /** The full run. */
  full: Fetched;
}

/**
 * The `filter_<name>` item for one declared filter: with values taken from
 * the full run, the filtered run must return exactly the assets in that scope.
 */
export async function checkFilter(
  filter: FilterName,
  state: FilterCheckState,
): Promise<CheckOutcome> {
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
  let got: Fetched;
  try {
    got = await fetchAll(state.client, {
      target: state.target,
      filters,
      callOptions: state.callOptions,
    });
  } catch (error) {
    return ["fail", state.describe(`fetchAssets with ${scope}`, error)];
  }
  const expected = state.valid.filter((a) => _inScope(a, filters)).map((a) => String(a.externalId))
    .sort();
  const ids = got.items.map((a) => idOf(a).replace(/^'|'$/g, "")).sort();
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

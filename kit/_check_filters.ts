/**
 * The filter items: each declared filter, with values taken from the fetched
 * assets, returns exactly the assets in that scope.
 *
 * @module
 */

import type { AssetFilters, FilterName } from "../core/contract.ts";
import { normalizeText } from "../ingest/normalize.ts";
import type {
  CallOptions,
  ImporterClient,
  PluginNotice,
  ValidCollectionInfo,
} from "../registry/mod.ts";
import { _fetchAll, type _Fetched, _idOf } from "./_check_assets.ts";
import type { CheckStatus } from "./_report.ts";

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

export async function _checkFilter(
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

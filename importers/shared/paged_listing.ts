/**
 * Paged listings, shared by the HTTP importers (Plex, Jellyfin, Emby): pages
 * are fetched one ahead of the consumer so the network overlaps with the
 * work on the current page; the server's total is watched on every page;
 * and a listing that changed underneath (items added or removed shift the
 * pages, so an item can be skipped) is read again.
 *
 * @module
 */

import type { ImportedAsset } from "../../core/contract.ts";
import { type DebugLog, workerDebug } from "./http.ts";

/** What one pass over a listing observed, filled in while it runs. */
export interface ListingStats {
  /** Pages fetched. */
  pages: number;
  /** The total the first page reported. */
  firstTotal?: number;
  /** The total the last page reported. */
  lastTotal?: number;
  /** Whether the total differed between pages (the library changed meanwhile). */
  changed: boolean;
  /** Whether the server stopped giving items before the total was reached. */
  shortfall: boolean;
}

/** A fresh {@link ListingStats}. */
export function newListingStats(): ListingStats {
  return { pages: 0, changed: false, shortfall: false };
}

/** One page as the server answered it. */
export interface ListingPage {
  /** The page's items. */
  items: unknown[];
  /** The total number of items the server reported, if it did. */
  total?: number;
}

/** Fetches the page starting at item `start`; `signal` aborts it when the listing is left. */
export type PageFetcher = (start: number, signal: AbortSignal) => Promise<ListingPage>;

/**
 * Yields the items of each page, in order, with the next page already on its
 * way. A server that ignores paging (no total) is taken to have answered
 * everything at once; one that runs dry before its total sets `shortfall`.
 * Each page's paging decision goes to `debug` (default: the plugin host's
 * log at debug level).
 */
export async function* pagedItems(
  fetchPage: PageFetcher,
  options: {
    pageSize: number;
    stats: ListingStats;
    debug?: DebugLog;
    /** Told the server's total once, from the first page that has one (a progress hint). */
    onTotal?: (total: number) => void;
  },
): AsyncGenerator<unknown[]> {
  const { pageSize, stats } = options;
  const debug = options.debug ?? workerDebug;
  const local = new AbortController();
  const request = (start: number) => {
    const page = fetchPage(start, local.signal);
    page.catch(() => {}); // observed by the loop; avoids an unhandled rejection when abandoned
    return page;
  };
  let start = 0;
  let pending: Promise<ListingPage> | undefined = request(0);
  try {
    while (pending) {
      const { items, total } = await pending;
      pending = undefined;
      stats.pages++;
      if (total !== undefined) {
        if (stats.firstTotal === undefined) options.onTotal?.(total);
        stats.firstTotal ??= total;
        if (stats.lastTotal !== undefined && total !== stats.lastTotal) stats.changed = true;
        stats.lastTotal = total;
      }
      const next = start + pageSize;
      if (total !== undefined && next < total) {
        if (items.length === 0) stats.shortfall = true;
        else pending = request(next);
      }
      debug(_pagingLine({ start, count: items.length, total, next, shortfall: stats.shortfall }));
      start = next;
      if (items.length) yield items;
    }
  } finally {
    local.abort();
  }
}

function _pagingLine(
  p: { start: number; count: number; total?: number; next: number; shortfall: boolean },
): string {
  const head = `page at ${p.start}: ${p.count} item(s), ` +
    (p.total === undefined ? "no total" : `total ${p.total}`);
  const decision = p.total === undefined
    ? "the server ignores paging: taken as the whole listing"
    : p.shortfall
    ? "no items before the total: stopping (the server ran dry)"
    : p.next < p.total
    ? `next page at ${p.next}, fetched ahead`
    : "last page";
  return `${head}; ${decision}`;
}

/** Options for {@link readListing}. */
export interface ReadListingOptions {
  /** Who is listing, for warnings ("Plex", a Jellyfin server's name). */
  server: string;
  /** What is listed, for warnings ("TV Shows", "season 2 of Columbo"). */
  label: string;
  /** Extra passes when the listing keeps changing. */
  maxExtraPasses: number;
  /** One pass over the listing, filling in `stats`. */
  pass(stats: ListingStats): AsyncIterable<unknown[]>;
  /** Maps one page to assets; it must drop what an earlier pass already gave. */
  map(items: unknown[]): ImportedAsset[];
  /** Reports what the operator should know. */
  warn(message: string): void;
  /** Where the passes' debug lines go (default: the plugin host's log at debug level). */
  debug?: DebugLog;
}

/**
 * Reads a listing to the end. When its total changed between pages, reads it
 * again (up to `maxExtraPasses` times), so that no item that still exists is
 * missed; `map` keeps items from being yielded twice.
 */
export async function* readListing(o: ReadListingOptions): AsyncGenerator<ImportedAsset[]> {
  const debug = o.debug ?? workerDebug;
  for (let pass = 0; pass <= o.maxExtraPasses; pass++) {
    const stats = newListingStats();
    debug(`listing ${o.label}: pass ${pass + 1} of at most ${o.maxExtraPasses + 1}`);
    for await (const page of o.pass(stats)) {
      const assets = o.map(page);
      if (assets.length) yield assets;
    }
    debug(
      `listing ${o.label}: pass ${pass + 1} read ${stats.pages} page(s)` +
        (stats.lastTotal === undefined ? "" : `, total ${stats.lastTotal}`) +
        (stats.changed ? `, changed from ${stats.firstTotal} while read` : ""),
    );
    if (stats.shortfall) {
      o.warn(
        `${o.server} stopped listing ${o.label} before its total of ${stats.lastTotal} items; ` +
          `run the ingest again if items are missing`,
      );
    }
    if (!stats.changed) return;
    o.warn(
      pass < o.maxExtraPasses
        ? `${o.label} changed while it was read (${stats.firstTotal} → ${stats.lastTotal} ` +
          `items); reading it again to pick up items that moved between pages`
        : `${o.label} kept changing while it was read; some items may be missing, ` +
          `run the ingest again once the server has finished scanning`,
    );
  }
}

/** An item an importer leaves out, with what to call it and why. */
export interface ListingSkip {
  /** A printable name of the item. */
  item: string;
  /** Why it was left out. */
  reason: string;
}

/** Options for {@link pageMapper}. */
export interface PageMapperOptions<S extends ListingSkip> {
  /** Maps one raw item to an asset, or to a skip. */
  mapItem(raw: unknown): ImportedAsset | S;
  /** Tells a skip from an asset. */
  isSkip(value: ImportedAsset | S): value is S;
  /** Reports a skip (`FetchRequest.skipped`). */
  skipped(item: string, reason: string): void;
}

/**
 * A page mapper for {@link readListing}: maps each raw item, reports skips,
 * keeps what `keep` accepts, and drops external ids it already gave (a
 * listing read again repeats the items it had yielded).
 */
export function pageMapper<S extends ListingSkip>(
  options: PageMapperOptions<S>,
): (items: unknown[], keep?: (asset: ImportedAsset) => boolean) => ImportedAsset[] {
  const seen = new Set<string>();
  return (items, keep) => {
    const out: ImportedAsset[] = [];
    for (const raw of items) {
      const mapped = options.mapItem(raw);
      if (options.isSkip(mapped)) {
        options.skipped(mapped.item, mapped.reason);
        continue;
      }
      if (keep && !keep(mapped)) continue;
      if (seen.has(mapped.externalId)) continue;
      seen.add(mapped.externalId);
      out.push(mapped);
    }
    return out;
  };
}

/**
 * Paged Plex listings: `X-Plex-Container-Start` / `X-Plex-Container-Size`
 * until `totalSize` is reached, one page ahead so the network overlaps with
 * whatever the consumer does with the current page.
 *
 * @module
 */

import type { PlexContainer, PlexSession } from "./_plex_http.ts";

/** What a listing observed, filled in while it runs. */
export interface ListingStats {
  /** Pages fetched. */
  pages: number;
  /** `totalSize` of the first page. */
  firstTotal?: number;
  /** `totalSize` of the last page. */
  lastTotal?: number;
  /** Whether `totalSize` differed between pages (the library changed meanwhile). */
  changed: boolean;
  /** Whether the server stopped giving items before `totalSize` was reached. */
  shortfall: boolean;
}

/** Options for {@link pagedListing}. */
export interface PagedListingOptions {
  /** Query parameters besides paging. */
  query?: Record<string, string | number>;
  /** Items per page. */
  pageSize: number;
  /** Filled in as pages arrive. */
  stats?: ListingStats;
}

/** A fresh {@link ListingStats}. */
export function newListingStats(): ListingStats {
  return { pages: 0, changed: false, shortfall: false };
}

/**
 * Yields the `Metadata` array of each page of `path`, in order. A server that
 * ignores paging (no `totalSize`) is taken to have answered everything at once.
 */
export async function* pagedListing(
  session: PlexSession,
  path: string,
  options: PagedListingOptions,
): AsyncGenerator<unknown[]> {
  const stats = options.stats ?? newListingStats();
  const size = options.pageSize;
  const local = new AbortController();
  const fetchPage = (start: number): Promise<PlexContainer> => {
    const page = session.get(path, {
      query: { ...options.query, "X-Plex-Container-Start": start, "X-Plex-Container-Size": size },
      signal: local.signal,
    });
    page.catch(() => {}); // observed by the awaiting loop; avoids an unhandled rejection if abandoned
    return page;
  };
  let start = 0;
  let pending: Promise<PlexContainer> | undefined = fetchPage(0);
  try {
    while (pending) {
      const container = await pending;
      pending = undefined;
      stats.pages++;
      const items = Array.isArray(container.Metadata) ? container.Metadata : [];
      const total = typeof container.totalSize === "number" ? container.totalSize : undefined;
      if (total !== undefined) {
        stats.firstTotal ??= total;
        if (stats.lastTotal !== undefined && total !== stats.lastTotal) stats.changed = true;
        stats.lastTotal = total;
      }
      const next = start + size;
      if (total !== undefined && next < total) {
        if (items.length === 0) stats.shortfall = true;
        else pending = fetchPage(next);
      }
      start = next;
      if (items.length) yield items;
    }
  } finally {
    local.abort();
  }
}

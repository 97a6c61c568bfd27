/**
 * Paged Plex listings: `X-Plex-Container-Start` / `X-Plex-Container-Size`
 * until `totalSize` is reached, one page ahead (see `../shared/paged_listing.ts`).
 *
 * @module
 */

import type { PlexContainer, PlexSession } from "./_http.ts";
import {
  type ListingIds,
  listingName,
  type ListingStats,
  newListingStats,
  pagedItems,
} from "../shared/paged_listing.ts";

/** Options for {@link pagedListing}. */
export interface PagedListingOptions {
  /** Query parameters besides paging. */
  query?: Record<string, string | number>;
  /** Items per page. */
  pageSize: number;
  /** Filled in as pages arrive. */
  stats?: ListingStats;
  /** Told the listing's `totalSize` once (a progress hint; see `pagedItems`). */
  onTotal?: (total: number) => void;
  /** Item ids, to check that the server really pages (see `pagedItems`). */
  ids?: ListingIds;
  /** What is listed, for messages ("library 'TV Shows'"). */
  label?: string;
}

/** An item's `ratingKey` (a string, or a number some servers send), or undefined. */
export function plexItemId(raw: unknown): string | undefined {
  const key = (raw as { ratingKey?: unknown } | null)?.ratingKey;
  if (typeof key === "string") return key === "" ? undefined : key;
  return typeof key === "number" && Number.isFinite(key) ? String(key) : undefined;
}

/**
 * Yields the `Metadata` array of each page of `path`, in order. A server that
 * ignores paging (no `totalSize`) is taken to have answered everything at once.
 */
export function pagedListing(
  session: PlexSession,
  path: string,
  options: PagedListingOptions,
): AsyncGenerator<unknown[]> {
  const size = options.pageSize;
  return pagedItems(async (start, signal) => {
    const container: PlexContainer = await session.get(path, {
      query: { ...options.query, "X-Plex-Container-Start": start, "X-Plex-Container-Size": size },
      signal,
    });
    return {
      items: Array.isArray(container.Metadata) ? container.Metadata : [],
      total: typeof container.totalSize === "number" ? container.totalSize : undefined,
      limit: size,
    };
  }, {
    stats: options.stats ?? newListingStats(),
    onTotal: options.onTotal,
    ids: options.ids,
    describe: listingName("Plex", { label: options.label, path }),
  });
}

/**
 * Paged listings, shared by the HTTP importers (Plex, Jellyfin, Emby): pages
 * are fetched one ahead of the consumer so the network overlaps with the
 * work on the current page; the server's total is watched on every page;
 * and a listing that changed underneath (items added or removed shift the
 * pages, so an item can be skipped) is read again.
 *
 * @module
 */

import type { FetchRequest, ImportedAsset } from "../../core/contract.ts";
import { type DebugLog, httpImporterError, workerDebug } from "./http.ts";

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
  /** Items received in this pass, repeats included. */
  received: number;
  /** Items received in this pass whose id could not be read (each counts as distinct). */
  withoutId: number;
  /** Items received in this pass whose id an earlier page of the pass already gave. */
  repeated: number;
  /**
   * New items found past the server's total (its count was too low): read
   * on, since a full ingest would take them as removed.
   */
  beyondTotal: number;
}

/** A fresh {@link ListingStats}. */
export function newListingStats(): ListingStats {
  return {
    pages: 0,
    changed: false,
    shortfall: false,
    received: 0,
    withoutId: 0,
    repeated: 0,
    beyondTotal: 0,
  };
}

/** One page as the server answered it. */
export interface ListingPage {
  /** The page's items. */
  items: unknown[];
  /**
   * The total number of items the server reported, if it did. A negative or
   * fractional one is taken as none (see {@link pagedItems}).
   */
  total?: number;
  /**
   * How many items were asked for. A page that reaches the total while as
   * full as asked (or as full as the server's pages have been) may not be
   * the last: see {@link pagedItems}.
   */
  limit?: number;
}

/** Fetches the page starting at item `start`; `signal` aborts it when the listing is left. */
export type PageFetcher = (start: number, signal: AbortSignal) => Promise<ListingPage>;

/** How {@link pagedItems} tells items apart (see {@link PagedItemsOptions.ids}). */
export interface ListingIds {
  /** An item's id (Plex `ratingKey`, Jellyfin `Id`), or undefined when it has none. */
  idOf(raw: unknown): string | undefined;
  /** The id's name in the server's API, for messages. */
  name: string;
  /**
   * Every id given so far, with the number of the pass that gave it last
   * (a listing read again shares one map across its passes).
   */
  seen: Map<string, number>;
  /** This pass's number. */
  pass: number;
}

/**
 * How a listing is named in {@link pagedItems}' messages: its label when that
 * names the server already (`Plex library 'TV Shows'`), else the server's
 * name before the label (`Jellyfin series 'Columbo'`), or before the path.
 */
export function listingName(
  server: string,
  listing: { label?: string; path: string },
): string {
  const { label, path } = listing;
  return label?.startsWith(`${server} `) ? label : `${server} ${label ?? path}`;
}

/** Options for {@link pagedItems}. */
export interface PagedItemsOptions {
  /** Filled in as pages arrive. */
  stats: ListingStats;
  /** Where the paging decisions go (default: the plugin host's log at debug level). */
  debug?: DebugLog;
  /** Told the server's total once, from the first page that has one (a progress hint). */
  onTotal?: (total: number) => void;
  /**
   * Item ids, to check that the server really pages: a page none of whose
   * items has an id, or that only repeats ids this pass already gave, is
   * `MALFORMED_RESPONSE`. Without it only totals are checked.
   */
  ids?: ListingIds;
  /** Who answers and what, for messages ("Plex", "library 'TV Shows'"). */
  describe?: string;
}

/**
 * Yields the items of each page, in order, with the next page already on its
 * way. The next page starts after the items received (a server that caps its
 * pages below the size asked for is still read whole). A server that ignores
 * paging (no total on its first page, and more items than asked) is taken
 * to have answered everything at once (see below for fewer); one that runs
 * dry before its total sets `shortfall`. A server that
 * stops reporting its total mid-way, or repeats a page instead of moving on,
 * is `MALFORMED_RESPONSE` (retryable): taken at its word, either would leave
 * items out of the listing (or ask for the same page until the deadline),
 * and a full ingest would remove the items left out.
 *
 * A total can also be too low (Jellyfin has counted one item short,
 * jellyfin/jellyfin#2116, and as many as a page when filtered,
 * jellyfin/jellyfin#8069), or missing from a server that pages all the same
 * (a total below zero, or not whole, counts as missing).
 * So when `ids` can tell new items from repeats, and the page that reaches
 * the total is full (as many items as asked, or as the fullest page before
 * it), or a first page without a total holds no more than asked, one more
 * page is asked for. It is normally empty, or repeats what came (a start
 * clamped to the end); new items in it are yielded (counted in
 * `beyondTotal`), and the listing is read on while pages bring more new
 * items than repeats. Without a total, a full first page answered again is
 * `MALFORMED_RESPONSE` (the server ignores the start asked for), and a page
 * mixing repeats with new items marks the listing `changed` (it shifted
 * while it was read, so it is read again). Each page's paging
 * decision goes to `debug`.
 */
export async function* pagedItems(
  fetchPage: PageFetcher,
  options: PagedItemsOptions,
): AsyncGenerator<unknown[]> {
  const { stats, ids } = options;
  const what = options.describe ?? "the server";
  const debug = options.debug ?? workerDebug;
  const local = new AbortController();
  const request = (start: number) => {
    const page = fetchPage(start, local.signal);
    page.catch(() => {}); // observed by the loop; avoids an unhandled rejection when abandoned
    return page;
  };
  let start = 0;
  let fullest = 0;
  /** Reading past the total, or without one: see the function's comment. */
  let beyond = false;
  /** Without a total, the first page was as full as asked: a repeat of it is not paging. */
  let uncountedFull = false;
  let pending: Promise<ListingPage> | undefined = request(0);
  try {
    while (pending) {
      const page = await pending;
      const { items, limit } = page;
      // A count below zero or not whole counts nothing: the listing is read as without one.
      const total = Number.isSafeInteger(page.total) && page.total! >= 0 ? page.total : undefined;
      pending = undefined;
      stats.pages++;
      if (total !== undefined) {
        if (stats.firstTotal === undefined) options.onTotal?.(total);
        stats.firstTotal ??= total;
        if (stats.lastTotal !== undefined && total !== stats.lastTotal) stats.changed = true;
        stats.lastTotal = total;
      } else if (stats.lastTotal !== undefined && !(beyond && items.length === 0)) {
        throw _malformed(
          `${what} stopped reporting its total after ${stats.pages - 1} page(s) ` +
            `(it had reported ${stats.lastTotal} items)`,
        );
      }
      stats.received += items.length;
      const next = start + items.length;
      let decision: string;
      let give = items.length > 0;
      if (beyond) {
        const repeatedBefore = stats.repeated;
        const fresh = ids && items.length ? _checkIds(items, { ids, stats, what, start }) : 0;
        const repeats = stats.repeated - repeatedBefore;
        if (fresh === 0 && items.length > 0 && uncountedFull) {
          throw _malformed(
            `${what} gives no total and answered the items from index ${start} with ${items.length} ` +
              `item(s) it had already listed: it does not page as asked`,
          );
        }
        uncountedFull = false;
        stats.beyondTotal += fresh;
        // A total a little low is a known server fault; new items past it without end are a
        // server that does not page as it says (else only the stream limit would stop it).
        if (stats.lastTotal !== undefined && stats.beyondTotal > _beyondAllowed(stats.lastTotal)) {
          throw _malformed(
            `${what} listed ${stats.beyondTotal} new item(s) past its own total of ` +
              `${stats.lastTotal} and goes on: it does not page as it says`,
            false,
          );
        }
        give = fresh > 0; // a page of repeats past the end (a start clamped) brings nothing
        // Without any total, a repeat among new items is a listing that shifted while it was
        // read (an item added before this page): it is read again, like a total that moved.
        if (stats.lastTotal === undefined && repeats > 0 && fresh > 0) stats.changed = true;
        // Read on after a page of mostly new items: one mostly of repeats is the end (a start
        // clamped), and a server giving one new item a page would otherwise never be done.
        if (fresh > repeats) pending = request(next);
        decision = pending
          ? `${fresh} new item(s) past the total: next page at ${next}`
          : `${fresh} new item(s) past the total: last page`;
      } else {
        if (ids && items.length) {
          _checkIds(items, { ids, stats, what, start, changed: stats.changed });
        }
        const full = items.length > 0 &&
          items.length >= Math.min(limit ?? Infinity, fullest || Infinity);
        fullest = Math.max(fullest, items.length);
        if (
          total === undefined && ids && limit !== undefined && items.length > 0 &&
          items.length <= limit
        ) {
          // No total, and no more than asked (a page of a server that pages but does not count,
          // perhaps capped below the size asked): ask on. More than asked is the whole listing.
          beyond = true;
          uncountedFull = items.length >= limit;
          pending = request(next);
          decision = `no total: asking from ${next} in case there are more`;
        } else if (total === undefined) {
          decision = "the server ignores paging: taken as the whole listing";
        } else if (next < total) {
          if (items.length === 0) stats.shortfall = true;
          else pending = request(next);
          decision = stats.shortfall
            ? "no items before the total: stopping (the server ran dry)"
            : `next page at ${next}, fetched ahead`;
        } else if (full && ids) {
          beyond = true;
          pending = request(next);
          decision = `a full page reaches the total: asking from ${next} in case the total is low`;
        } else {
          decision = "last page";
        }
      }
      debug(
        `page at ${start}: ${items.length} item(s), ` +
          `${total === undefined ? "no total" : `total ${total}`}; ${decision}`,
      );
      start = next;
      if (give) yield items;
    }
  } finally {
    local.abort();
  }
}

/**
 * Counts a page's ids into `stats` and returns how many are new. Throws when
 * no item has an id, or, when `changed` is given and false, when the page
 * only repeats ids: the server is not paging.
 */
function _checkIds(
  items: readonly unknown[],
  c: { ids: ListingIds; stats: ListingStats; what: string; start: number; changed?: boolean },
): number {
  const { ids, stats } = c;
  let withId = 0;
  let fresh = 0;
  for (const raw of items) {
    const id = ids.idOf(raw);
    if (id === undefined) {
      stats.withoutId++;
      continue;
    }
    withId++;
    if (ids.seen.get(id) === ids.pass) {
      stats.repeated++;
      continue;
    }
    ids.seen.set(id, ids.pass);
    fresh++;
  }
  if (withId === 0) {
    throw _malformed(
      `${c.what} answered ${items.length} item(s) from index ${c.start}, none of them ` +
        `with ${_an(ids.name)}`,
      false,
    );
  }
  // A whole page of ids already given, while the listing did not change: the server ignores
  // the start asked for (read on, it would be asked for the same page until the deadline).
  if (fresh === 0 && c.changed === false) {
    throw _malformed(
      `${c.what} answered the items from index ${c.start} with ${withId} item(s) it had ` +
        `already listed: it does not page as asked`,
    );
  }
  return fresh;
}

/**
 * How many new items a listing may bring past its server's total before it
 * is taken as not paging: as many again as the total, at least 1000 (real
 * servers count a page or so short, jellyfin/jellyfin#8069).
 */
function _beyondAllowed(total: number): number {
  return Math.max(1000, total);
}

function _malformed(message: string, retryable = true): Error {
  return httpImporterError("MALFORMED_RESPONSE", message, { retryable });
}

/**
 * How many items a stable listing may fall short of its server's total and
 * still be taken as whole: 1% of the total, at least one. Real servers count
 * a few items they never list (Jellyfin 10.11: 1071 listed of a
 * `TotalRecordCount` of 1074, jellyfin/jellyfin#15186), so refusing every
 * shortfall would refuse every ingest from them; a larger one is refused, so
 * that at most this many assets can be taken as removed by a listing that
 * lost them.
 */
export function shortfallTolerance(total: number): number {
  return Math.max(1, Math.floor(total / 100));
}

/** Options for {@link readListing}. */
export interface ReadListingOptions {
  /** Who is listing, for warnings ("Plex", a Jellyfin server's name). */
  server: string;
  /** What is listed, for warnings ("TV Shows", "season 2 of Columbo"). */
  label: string;
  /** Extra passes when the listing keeps changing or comes back short. */
  maxExtraPasses: number;
  /** One pass over the listing, filling in `stats`; `ids` go to {@link pagedItems}. */
  pass(stats: ListingStats, ids: ListingIds): AsyncIterable<unknown[]>;
  /** An item's id (see {@link ListingIds.idOf}). */
  idOf(raw: unknown): string | undefined;
  /** The id's name in the server's API ("ratingKey", "Id"). */
  idName: string;
  /** Maps one page to assets; it must drop what an earlier pass already gave. */
  map(items: unknown[]): ImportedAsset[];
  /** Reports what the operator should know. */
  warn(message: string): void;
  /**
   * Keeps every stored asset of the collection this run
   * (`request.unlisted?.("")`): called, with a warning, when the listing
   * cannot be trusted to be whole (a full ingest would take what it missed
   * as removed): it held items without an id, whose stored assets cannot be
   * told apart from the others; its total kept changing through every read;
   * or the server gave no total. Without it, the last two fail the listing.
   */
  holdAll?(): void;
  /** Where the passes' debug lines go (default: the plugin host's log at debug level). */
  debug?: DebugLog;
}

/**
 * Reads a listing to the end. When its total changed between pages, or the
 * distinct items listed (over every pass) fall short of the server's total
 * by more than {@link shortfallTolerance}, reads it again (up to
 * `maxExtraPasses` times), so that no item that still exists is missed; `map`
 * keeps items from being yielded twice. A listing still that short after the
 * last pass is `MALFORMED_RESPONSE` (retryable): a full ingest would take the
 * missing items as removed. A stable listing short by no more than the
 * tolerance is warned about. One that kept changing through every read but
 * came out whole against its last total, or one whose server gives no total,
 * may still have missed items: it is taken with every stored asset held (see
 * {@link ReadListingOptions.holdAll}), so that nothing is removed.
 */
export async function* readListing(o: ReadListingOptions): AsyncGenerator<ImportedAsset[]> {
  const debug = o.debug ?? workerDebug;
  const seen = new Map<string, number>();
  for (let pass = 0; pass <= o.maxExtraPasses; pass++) {
    const stats = newListingStats();
    debug(`listing ${o.label}: pass ${pass + 1} of at most ${o.maxExtraPasses + 1}`);
    const ids: ListingIds = { idOf: o.idOf, name: o.idName, seen, pass };
    for await (const page of o.pass(stats, ids)) {
      // Even empty (a page read again, or all skipped): it tells the host the listing is alive.
      yield o.map(page);
    }
    const listed = seen.size + stats.withoutId;
    debug(
      `listing ${o.label}: pass ${pass + 1} read ${stats.pages} page(s), ${stats.received} ` +
        `item(s), ${listed} distinct so far` +
        (stats.lastTotal === undefined ? "" : `, total ${stats.lastTotal}`) +
        (stats.changed ? `, changed from ${stats.firstTotal} while read` : ""),
    );
    const missing = stats.lastTotal === undefined ? 0 : stats.lastTotal - listed;
    const short = missing > 0;
    if (!stats.changed && !short) {
      if (stats.lastTotal === undefined) {
        _holdAll(
          o,
          `${o.label} came with no total, so a listing cut short (an empty page mid-way) ` +
            `cannot be told from a whole one`,
        );
      }
      return _done(o, stats);
    }
    if (!stats.changed && stats.repeated === 0 && missing <= shortfallTolerance(stats.lastTotal!)) {
      o.warn(
        `${o.server} listed ${listed} of the ${stats.lastTotal} items it counts in ${o.label}; ` +
          `the ${missing} it did not list are taken as not there (a server's count can be off: ` +
          `Jellyfin 10.11 counts a few items it never lists); run the ingest again if items ` +
          `are missing`,
      );
      return _done(o, stats);
    }
    const shortBy = `${o.server} listed ${listed} of the ${stats.lastTotal} items of ${o.label}` +
      (stats.repeated ? ` (${stats.repeated} repeated)` : "");
    if (pass < o.maxExtraPasses) {
      o.warn(
        (stats.changed
          ? `${o.label} changed while it was read (${
            stats.lastTotal === undefined
              ? "a page repeated items already listed; the server gives no total"
              : stats.firstTotal === stats.lastTotal
              ? `its total moved and came back to ${stats.lastTotal}`
              : `${stats.firstTotal} → ${stats.lastTotal} items`
          })`
          : shortBy) + "; reading it again to pick up items that moved between pages",
      );
      continue;
    }
    if (short) {
      throw httpImporterError(
        "MALFORMED_RESPONSE",
        `${shortBy}, in ${pass + 1} reads; stopping so that the missing items are not taken as ` +
          `removed: run the ingest again (once a library scan has finished)`,
        { retryable: true },
      );
    }
    // Whole against its last total, but that total kept moving: what moved may have been
    // skipped (a total that fell from 1000 to 600 while 600 were listed), so nothing is
    // taken as removed.
    _holdAll(
      o,
      `${o.label} kept changing while it was read (${pass + 1} reads); the items listed are ` +
        `taken as they are, run the ingest again once the server has finished scanning`,
    );
    return _done(o, stats);
  }
}

/**
 * Keeps every stored asset of the collection this run (see
 * {@link ReadListingOptions.holdAll}), warning `why`; without `holdAll` the
 * listing cannot be trusted to be whole, so it fails (`MALFORMED_RESPONSE`,
 * retryable) rather than let a full ingest remove what it may have missed.
 */
function _holdAll(o: ReadListingOptions, why: string): void {
  if (!o.holdAll) {
    throw httpImporterError(
      "MALFORMED_RESPONSE",
      `${why}; stopping so that items it may have missed are not taken as removed`,
      { retryable: true },
    );
  }
  o.warn(`${why}; none of the stored items is removed in this ingest`);
  o.holdAll();
}

/**
 * The end of a listing taken whole: a total below the items listed is told
 * of, and items without an id hold every stored asset.
 */
function _done(o: ReadListingOptions, stats: ListingStats): void {
  const listed = stats.received - stats.repeated;
  if (stats.lastTotal !== undefined && listed > stats.lastTotal) {
    o.warn(
      `${o.server} listed ${listed} items of ${o.label}, more than the ${stats.lastTotal} it ` +
        `counts; all were read (a server's count can be low)`,
    );
  }
  if (stats.withoutId === 0 || !o.holdAll) return;
  o.warn(
    `${o.server} listed ${stats.withoutId} item(s) of ${o.label} without ${_an(o.idName)}; ` +
      `as their stored assets cannot be told apart, none is removed in this ingest`,
  );
  o.holdAll();
}

/** An item an importer leaves out, with what to call it and why. */
export interface ListingSkip {
  /** A printable name of the item. */
  item: string;
  /** Why it was left out. */
  reason: string;
  /**
   * The item's id (its external id), when it was listed with one but could
   * not be read (a malformed item): its stored asset is kept, not removed.
   */
  heldId?: string;
}

/**
 * How many malformed items with an id one listing keeps the stored assets of,
 * one by one, before it keeps them all ({@link PageMapperOptions.holdAll}).
 */
export const MAX_HELD = 1000;

/** Options for {@link pageMapper}. */
export interface PageMapperOptions<S extends ListingSkip> {
  /** Maps one raw item to an asset, or to a skip. */
  mapItem(raw: unknown): ImportedAsset | S;
  /** Tells a skip from an asset. */
  isSkip(value: ImportedAsset | S): value is S;
  /** Reports a skip (`FetchRequest.skipped`). */
  skipped(item: string, reason: string): void;
  /**
   * Keeps the stored asset of a skip's `heldId`
   * (`request.unlisted?.(id, { exact: true })`).
   */
  hold?(externalId: string): void;
  /**
   * Keeps every stored asset (`request.unlisted?.("")`, and a warning), once
   * more than {@link MAX_HELD} skips named theirs.
   */
  holdAll?(): void;
}

/**
 * A page mapper for {@link readListing}: maps each raw item, reports skips
 * (keeping the stored asset of one that names a `heldId`), keeps what `keep`
 * accepts, and drops external ids it already gave (a listing read again
 * repeats the items it had yielded). An id given again with another file
 * (two items claiming one id, or a file that moved while the listing was
 * read again) is reported skipped, not dropped unseen: the first stays.
 */
export function pageMapper<S extends ListingSkip>(
  options: PageMapperOptions<S>,
): (items: unknown[], keep?: (asset: ImportedAsset) => boolean) => ImportedAsset[] {
  /** Each external id given, with a hash of its file's path(s). */
  const seen = new Map<string, number>();
  const held = new Set<string>();
  return (items, keep) => {
    const out: ImportedAsset[] = [];
    for (const raw of items) {
      const mapped = options.mapItem(raw);
      if (options.isSkip(mapped)) {
        options.skipped(mapped.item, mapped.reason);
        const id = mapped.heldId;
        if (id !== undefined && held.size <= MAX_HELD && !held.has(id)) {
          held.add(id);
          if (held.size <= MAX_HELD) options.hold?.(id);
          else options.holdAll?.();
        }
        continue;
      }
      if (keep && !keep(mapped)) continue;
      const file = _fileHash(mapped);
      const given = seen.get(mapped.externalId);
      if (given !== undefined) {
        if (given !== file) {
          options.skipped(
            `'${mapped.title}' (${mapped.externalId})`,
            `listed again with another file (${mapped.path ?? "none"}) than the first time; the ` +
              "first was kept: run the ingest again once the server's library has settled",
          );
        }
        continue;
      }
      seen.set(mapped.externalId, file);
      out.push(mapped);
    }
    return out;
  };
}

/**
 * A 32-bit FNV-1a hash of an asset's file path(s), cheap to keep for every id
 * listed: each path's length and its last 48 characters (where two files of
 * one library differ), which keeps it to ~0.2 µs an item on the stream's
 * hottest path.
 */
function _fileHash(asset: ImportedAsset): number {
  let h = _mixTail(0x811c9dc5, asset.path ?? "");
  const parts = asset.parts;
  if (parts) { for (let i = 0; i < parts.length; i++) h = _mixTail(h, parts[i]); }
  return h >>> 0;
}

/** FNV-1a steps over `text`'s length and last 48 characters. */
function _mixTail(hash: number, text: string): number {
  let h = Math.imul(hash ^ text.length, 0x01000193);
  for (let i = text.length > 48 ? text.length - 48 : 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h;
}

/** `name` after its indefinite article: "an Id", "a ratingKey". */
function _an(name: string): string {
  return `${/^[aeiou]/i.test(name) ? "an" : "a"} ${name}`;
}

/**
 * The `hold` and `holdAll` of {@link pageMapper} for `request`: a malformed
 * item's stored asset is kept by its exact id; past {@link MAX_HELD} of them,
 * every stored asset of `label` is, with a warning.
 */
export function heldSkips(
  request: Pick<FetchRequest, "unlisted" | "warn">,
  label: string,
): Pick<PageMapperOptions<ListingSkip>, "hold" | "holdAll"> {
  return {
    hold: (id) => request.unlisted?.(id, { exact: true }),
    holdAll: () => {
      request.warn(
        `more than ${MAX_HELD} items of ${label} could not be read; as they may be any of its ` +
          `stored assets, none is removed in this ingest`,
      );
      request.unlisted?.("");
    },
  };
}

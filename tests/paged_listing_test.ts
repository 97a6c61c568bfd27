/**
 * The paged listing shared by the HTTP importers, against a scripted
 * fetcher: one page ahead, totals watched, a changed listing read again,
 * a server that runs dry reported, a listing left early aborting its
 * prefetch.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import {
  type ListingPage,
  type ListingSkip,
  newListingStats,
  pagedItems,
  pageMapper,
  readListing,
} from "../importers/shared/paged_listing.ts";
import type { ImportedAsset } from "../core/contract.ts";

/** A fetcher over `items` whose reported total is `total(start, call)`. */
function fetcher(
  items: string[],
  options: { total?: (call: number) => number | undefined; calls?: number[] } = {},
) {
  let call = 0;
  return (start: number, _signal: AbortSignal): Promise<ListingPage> => {
    options.calls?.push(start);
    const total = options.total ? options.total(call++) : items.length;
    return Promise.resolve({ items: items.slice(start, start + 2), total });
  };
}

const asset = (id: string): ImportedAsset => ({ externalId: id, kind: "movie", title: id });

Deno.test("pagedItems: pages in order, the next one requested before the current is used", async () => {
  const calls: number[] = [];
  const stats = newListingStats();
  const seen: unknown[][] = [];
  for await (
    const page of pagedItems(fetcher(["a", "b", "c", "d", "e"], { calls }), {
      pageSize: 2,
      stats,
    })
  ) {
    seen.push(page);
    // When a page is handed over, the one after it is already requested.
    equal(calls.length, Math.min(seen.length + 1, 3));
  }
  deepStrictEqual(seen, [["a", "b"], ["c", "d"], ["e"]]);
  deepStrictEqual(stats, {
    pages: 3,
    firstTotal: 5,
    lastTotal: 5,
    changed: false,
    shortfall: false,
  });
});

Deno.test("pagedItems: no total means one page; running dry before the total is a shortfall", async () => {
  const once = newListingStats();
  const pages = [];
  for await (
    const p of pagedItems(fetcher(["a", "b", "c"], { total: () => undefined }), {
      pageSize: 2,
      stats: once,
    })
  ) pages.push(p);
  deepStrictEqual(pages, [["a", "b"]]);
  const dry = newListingStats();
  for await (
    const _ of pagedItems(fetcher(["a", "b"], { total: () => 10 }), {
      pageSize: 2,
      stats: dry,
    })
  ) { /* drain */ }
  ok(dry.shortfall);
});

Deno.test("pagedItems: leaving early aborts the page already requested", async () => {
  let seen: AbortSignal | undefined;
  const fetch = (start: number, signal: AbortSignal): Promise<ListingPage> => {
    if (start > 0) seen = signal;
    return Promise.resolve({ items: ["x", "y"], total: 100 });
  };
  for await (const _ of pagedItems(fetch, { pageSize: 2, stats: newListingStats() })) break;
  ok(seen?.aborted, "the prefetched page's request was aborted");
});

Deno.test("readListing: a listing that changed is read again; one that keeps changing is reported", async () => {
  const warnings: string[] = [];
  const items = ["a", "b", "c", "d"];
  const given = new Set<string>();
  let passes = 0;
  const read = (changesOnPasses: number) =>
    readListing({
      server: "Plex",
      label: "TV Shows",
      maxExtraPasses: 2,
      pass: (stats) => {
        const shifting = passes++ < changesOnPasses;
        return pagedItems(
          fetcher(items, { total: (call) => (shifting ? 4 + call : 4) }),
          { pageSize: 2, stats },
        );
      },
      map: (page) =>
        (page as string[]).filter((id) => !given.has(id) && given.add(id)).map((id) => asset(id)),
      warn: (m) => warnings.push(m),
    });
  const once: string[] = [];
  for await (const batch of read(1)) once.push(...batch.map((a) => a.externalId));
  deepStrictEqual(once, items, "every item exactly once");
  equal(passes, 2);
  equal(warnings.length, 1);
  match(warnings[0], /^TV Shows changed while it was read \(4 → 6 items\); reading it again/);

  warnings.length = 0;
  passes = 0;
  given.clear();
  for await (const _ of read(99)) { /* drain */ }
  equal(passes, 3, "the first pass and two extra passes");
  match(warnings.at(-1)!, /^TV Shows kept changing while it was read; some items may be missing/);
});

Deno.test("readListing: a server that ran dry is reported by name", async () => {
  const warnings: string[] = [];
  for await (
    const _ of readListing({
      server: "Den",
      label: "Movies",
      maxExtraPasses: 2,
      pass: (stats) => pagedItems(fetcher(["a"], { total: () => 10 }), { pageSize: 2, stats }),
      map: (page) => (page as string[]).map(asset),
      warn: (m) => warnings.push(m),
    })
  ) { /* drain */ }
  deepStrictEqual(warnings, [
    "Den stopped listing Movies before its total of 10 items; run the ingest again if items are missing",
  ]);
});

Deno.test("pageMapper: reports skips, applies keep, never gives an id twice", () => {
  const skipped: string[] = [];
  const map = pageMapper<ListingSkip & { skip: true }>({
    mapItem: (raw) =>
      typeof raw === "string"
        ? asset(raw)
        : { skip: true, item: String(raw), reason: "not a name" },
    isSkip: (v): v is ListingSkip & { skip: true } => "skip" in v,
    skipped: (item, reason) => skipped.push(`${item}: ${reason}`),
  });
  deepStrictEqual(map(["a", 7, "b"]).map((a) => a.externalId), ["a", "b"]);
  deepStrictEqual(skipped, ["7: not a name"]);
  deepStrictEqual(map(["b", "c", "d"], (a) => a.externalId !== "d").map((a) => a.externalId), [
    "c",
  ]);
});

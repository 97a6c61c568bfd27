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
  MAX_HELD,
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

/** The error `fn` rejects with (fails when it does not). */
async function rejects(
  fn: () => Promise<unknown>,
): Promise<Error & { code?: string; retryable?: boolean }> {
  try {
    await fn();
  } catch (error) {
    return error as Error & { code?: string; retryable?: boolean };
  }
  throw new Error("expected a rejection");
}

Deno.test("pagedItems: pages in order, the next one requested before the current is used", async () => {
  const calls: number[] = [];
  const stats = newListingStats();
  const seen: unknown[][] = [];
  for await (
    const page of pagedItems(fetcher(["a", "b", "c", "d", "e"], { calls }), {
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
    received: 5,
    withoutId: 0,
    repeated: 0,
    beyondTotal: 0,
  });
});

Deno.test("pagedItems: no total means one page; running dry before the total is a shortfall", async () => {
  const once = newListingStats();
  const pages = [];
  for await (
    const p of pagedItems(fetcher(["a", "b", "c"], { total: () => undefined }), {
      stats: once,
    })
  ) pages.push(p);
  deepStrictEqual(pages, [["a", "b"]]);
  const dry = newListingStats();
  for await (
    const _ of pagedItems(fetcher(["a", "b"], { total: () => 10 }), {
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
  for await (const _ of pagedItems(fetch, { stats: newListingStats() })) break;
  ok(seen?.aborted, "the prefetched page's request was aborted");
});

Deno.test("readListing: a listing that changed is read again; one that keeps changing is reported", async () => {
  const warnings: string[] = [];
  // Items are added while a shifting pass reads: the total grows 4, 5, 6 from page to page
  // (and stays 6 on the empty page asked for past it, as the third page was full).
  const items = ["a", "b", "c", "d", "e", "f"];
  const given = new Set<string>();
  let passes = 0;
  let held = 0;
  const read = (changesOnPasses: number, hold = true) =>
    readListing({
      server: "Plex",
      label: "TV Shows",
      maxExtraPasses: 2,
      pass: (stats, ids) => {
        const shifting = passes++ < changesOnPasses;
        return pagedItems(
          fetcher(items, { total: (call) => (shifting ? Math.min(4 + call, 6) : 6) }),
          { stats, ids },
        );
      },
      idOf: (raw) => raw as string,
      idName: "id",
      map: (page) =>
        (page as string[]).filter((id) => !given.has(id) && given.add(id)).map((id) => asset(id)),
      warn: (m) => warnings.push(m),
      holdAll: hold ? () => held++ : undefined,
    });
  const once: string[] = [];
  for await (const batch of read(1)) once.push(...batch.map((a) => a.externalId));
  deepStrictEqual(once, items, "every item exactly once");
  equal(passes, 2);
  equal(warnings.length, 1);
  match(warnings[0], /^TV Shows changed while it was read \(4 → 6 items\); reading it again/);
  equal(held, 0, "a listing that settled holds nothing");

  // Still changing on the last read: what moved may have been skipped, so no stored asset is
  // taken as removed (a total that fell while the listing was read would otherwise remove).
  warnings.length = 0;
  passes = 0;
  given.clear();
  for await (const _ of read(99)) { /* drain */ }
  equal(passes, 3, "the first pass and two extra passes");
  match(
    warnings.at(-1)!,
    /^TV Shows kept changing while it was read \(3 reads\); the items listed are taken as they are.*; none of the stored items is removed in this ingest$/,
  );
  equal(held, 1, "every stored asset is held");

  // An importer that cannot hold them stops instead.
  passes = 0;
  given.clear();
  const error = await rejects(async () => {
    for await (const _ of read(99, false)) { /* drain */ }
  });
  equal((error as { code?: string }).code, "MALFORMED_RESPONSE");
  match((error as Error).message, /items it may have missed are not taken as removed/);
});

Deno.test("readListing: a listing short of its total is read again, then refused", async () => {
  const warnings: string[] = [];
  let passes = 0;
  const error = await rejects(async () => {
    for await (
      const _ of readListing({
        server: "Den",
        label: "Movies",
        maxExtraPasses: 2,
        pass: (stats, ids) => {
          passes++;
          return pagedItems(fetcher(["a"], { total: () => 10 }), { stats, ids });
        },
        idOf: (raw) => raw as string,
        idName: "id",
        map: (page) => (page as string[]).map(asset),
        warn: (m) => warnings.push(m),
      })
    ) { /* drain */ }
  });
  equal(passes, 3);
  deepStrictEqual(warnings, [
    "Den listed 1 of the 10 items of Movies; reading it again to pick up items that moved between pages",
    "Den listed 1 of the 10 items of Movies; reading it again to pick up items that moved between pages",
  ]);
  equal(error.code, "MALFORMED_RESPONSE");
  equal(error.retryable, true);
  match(
    error.message,
    /^Den listed 1 of the 10 items of Movies, in 3 reads; stopping so that the missing items are not taken as removed/,
  );
});

Deno.test("readListing: a short read completed by a later pass is whole", async () => {
  // The first pass misses "c" and "d" (more than the 1 item tolerated); the second gives them.
  let passes = 0;
  const got: string[] = [];
  const warnings: string[] = [];
  for await (
    const batch of readListing({
      server: "Den",
      label: "Movies",
      maxExtraPasses: 2,
      pass: (stats, ids) => {
        const list = passes++ === 0 ? ["a", "b"] : ["a", "b", "c", "d"];
        return pagedItems(fetcher(list, { total: () => 4 }), { stats, ids });
      },
      idOf: (raw) => raw as string,
      idName: "id",
      map: (page) => (page as string[]).filter((id) => !got.includes(id)).map(asset),
      warn: (m) => warnings.push(m),
    })
  ) got.push(...batch.map((a) => a.externalId));
  deepStrictEqual(got, ["a", "b", "c", "d"]);
  equal(passes, 2);
  equal(warnings.length, 1);
});

/** A fetcher answering `answer(start, call)`. */
function scripted(answer: (start: number, call: number) => ListingPage) {
  let call = 0;
  return (start: number, _signal: AbortSignal) => Promise.resolve(answer(start, call++));
}

/** Drains `pagedItems` over `fetch`, with ids, into `stats`; returns the pages or throws. */
async function drainPages(
  fetch: (start: number, signal: AbortSignal) => Promise<ListingPage>,
  stats = newListingStats(),
  options: { onTotal?: (total: number) => void } = {},
): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  const ids = {
    idOf: (raw: unknown) => (raw as { id?: string }).id,
    name: "id",
    seen: new Map(),
    pass: 0,
  };
  for await (const page of pagedItems(fetch, { stats, ids, describe: "Den", ...options })) {
    pages.push(page);
  }
  return pages;
}

const items = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `i${from + i}` }));

Deno.test("pagedItems: a server that caps its pages below the size asked is read whole", async () => {
  // Asked for 10, it answers at most 4: the next page starts after what came.
  const starts: number[] = [];
  const pages = await drainPages(
    scripted((start) => {
      starts.push(start);
      return { items: items(start, Math.min(4, 10 - start)), total: 10 };
    }),
  );
  deepStrictEqual(starts, [0, 4, 8]);
  equal(pages.flat().length, 10);
});

Deno.test("pagedItems: a full page reaching a total that is too low: read on past it", async () => {
  // 7 items, counted as 4 (jellyfin/jellyfin#2116, #8069): the page asked for past the total
  // brings new items, so the listing is read on until a page brings nothing.
  const starts: number[] = [];
  const stats = newListingStats();
  const fetch = scripted((start) => {
    starts.push(start);
    return { items: items(start, Math.max(0, Math.min(2, 7 - start))), total: 4, limit: 2 };
  });
  const pages = await drainPages(fetch, stats);
  deepStrictEqual(starts, [0, 2, 4, 6, 7]);
  deepStrictEqual(pages.flat(), items(0, 7));
  equal(stats.beyondTotal, 3);
  equal(stats.shortfall, false);
});

Deno.test("pagedItems: without a total, pages are read on until nothing new comes", async () => {
  const run = async (answer: (start: number) => ListingPage) => {
    const starts: number[] = [];
    const pages = await drainPages(scripted((start) => {
      starts.push(start);
      return answer(start);
    }));
    return { starts, got: pages.flat().length };
  };
  // A server that pages but does not count: read to its end, not taken as one page.
  deepStrictEqual(
    await run((start) => ({ items: items(start, Math.max(0, Math.min(2, 5 - start))), limit: 2 })),
    { starts: [0, 2, 4, 5], got: 5 },
  );
  // One that also caps its pages below the size asked (4 of 10).
  deepStrictEqual(
    await run((start) => ({
      items: items(start, Math.max(0, Math.min(4, 10 - start))),
      limit: 10,
    })),
    { starts: [0, 4, 8, 10], got: 10 },
  );
  // One that ignores paging (more than asked): that was everything.
  deepStrictEqual(await run(() => ({ items: items(0, 5), limit: 2 })), { starts: [0], got: 5 });
  // A short page answered again (a small library, the start ignored): that was everything.
  deepStrictEqual(await run(() => ({ items: items(0, 3), limit: 10 })), { starts: [0, 3], got: 3 });
  // A full page answered again: the start is ignored, the rest cannot be read.
  const error = await rejects(() => run(() => ({ items: items(0, 2), limit: 2 })));
  equal(error.code, "MALFORMED_RESPONSE");
  match(
    error.message,
    /^Den gives no total and answered the items from index 2 with 2 item\(s\) it had/,
  );
});

Deno.test("readListing: without a total, an item added while pages are read makes it read again", async () => {
  // The server counts nothing; after two pages an item is added at the front, so the next page
  // repeats one: the listing shifted (an item removed would have been skipped unseen).
  const list = ["i0", "i1", "i2", "i3", "i4", "i5"];
  let calls = 0;
  let held = 0;
  const warnings: string[] = [];
  const got: string[] = [];
  for await (
    const batch of readListing({
      server: "Den",
      label: "Movies",
      maxExtraPasses: 2,
      pass: (stats, ids) =>
        pagedItems((start) => {
          if (++calls === 3) list.unshift("x");
          return Promise.resolve({ items: list.slice(start, start + 2), limit: 2 });
        }, { stats, ids }),
      idOf: (raw) => raw as string,
      idName: "id",
      map: (page) => (page as string[]).filter((id) => !got.includes(id)).map(asset),
      warn: (m) => warnings.push(m),
      holdAll: () => held++,
    })
  ) got.push(...batch.map((a) => a.externalId));
  deepStrictEqual([...got].sort(), ["i0", "i1", "i2", "i3", "i4", "i5", "x"]);
  equal(warnings.length, 2);
  match(
    warnings[0],
    /^Movies changed while it was read \(a page repeated items already listed; the server gives no total\); reading it again/,
  );
  // Without a total, an empty page mid-way would look like the end: nothing is taken as removed.
  match(warnings[1], /^Movies came with no total, .*none of the stored items is removed/);
  equal(held, 1);
});

Deno.test("pagedItems: past the total, a page that also repeats is the last", async () => {
  // One new item a page past a right total, for ever: read once, then stopped.
  const starts: number[] = [];
  const stats = newListingStats();
  const pages = await drainPages(
    scripted((start) => {
      starts.push(start);
      if (starts.length > 10) throw new Error("asked for more than 10 pages");
      return start < 4
        ? { items: items(start, 2), total: 4, limit: 2 }
        : { items: [...items(start, 1), ...items(0, 1)], total: 4, limit: 2 };
    }),
    stats,
  );
  deepStrictEqual(starts, [0, 2, 4]);
  equal(pages.flat().length, 6);
  equal(stats.beyondTotal, 1);
});

Deno.test("pagedItems: past a right total, one request only, and no error for odd answers to it", async () => {
  const cases: [string, (start: number) => ListingPage, number[], number][] = [
    [
      "an empty page past it",
      (start) => ({ items: items(start, start < 4 ? 2 : 0), total: 4, limit: 2 }),
      [0, 2, 4],
      4,
    ],
    [
      "an empty page without a total",
      (start) => (start < 4 ? { items: items(start, 2), total: 4, limit: 2 } : { items: [] }),
      [0, 2, 4],
      4,
    ],
    [
      "its last page again (a start clamped)",
      (start) => ({ items: items(Math.min(start, 2), 2), total: 4, limit: 2 }),
      [0, 2, 4],
      4,
    ],
    ["everything again (paging ignored)", () => ({ items: items(0, 5), total: 5, limit: 2 }), [
      0,
      5,
    ], 5],
    [
      "a last page shorter than asked: no request past it",
      (start) => ({ items: items(start, Math.min(2, 5 - start)), total: 5, limit: 2 }),
      [0, 2, 4],
      5,
    ],
  ];
  for (const [what, answer, expected, count] of cases) {
    const starts: number[] = [];
    const pages = await drainPages(scripted((start) => {
      starts.push(start);
      return answer(start);
    }));
    deepStrictEqual(starts, expected, what);
    equal(pages.flat().length, count, what);
  }
  // Without ids, new items cannot be told from repeats: no request past the total.
  const starts: number[] = [];
  const fetch = scripted((start) => {
    starts.push(start);
    return { items: items(start, 2), total: 4, limit: 2 };
  });
  for await (const _ of pagedItems(fetch, { stats: newListingStats() })) { /* drain */ }
  deepStrictEqual(starts, [0, 2]);
});

Deno.test("pagedItems: a server that stops paging properly is MALFORMED_RESPONSE", async () => {
  const cases: [string, (start: number, call: number) => ListingPage, RegExp][] = [
    [
      "its total vanishes mid-way",
      (start, call) => ({ items: items(start, 2), total: call < 2 ? 10 : undefined }),
      /^Den stopped reporting its total after 2 page\(s\) \(it had reported 10 items\)$/,
    ],
    [
      "it ignores the start and repeats the first page",
      () => ({ items: items(0, 2), total: 10 }),
      /^Den answered the items from index 2 with 2 item\(s\) it had already listed/,
    ],
    [
      "its items carry no id",
      (start) => ({ items: [{ name: "x" }, { name: "y" }].slice(0, 2 - (start % 2)), total: 4 }),
      /^Den answered 2 item\(s\) from index 0, none of them with an id$/,
    ],
  ];
  for (const [what, answer, message] of cases) {
    const error = await rejects(() => drainPages(scripted(answer)));
    equal(error.code, "MALFORMED_RESPONSE", what);
    match(error.message, message, what);
  }
});

Deno.test("readListing: a stable listing short by at most 1% of its total is taken, with a warning", async () => {
  // jellyfin/jellyfin#15186: Jellyfin 10.11 counted 1074 items and listed 1071.
  const read = async (listed: number, total: number) => {
    const warnings: string[] = [];
    let passes = 0;
    const all = Array.from({ length: listed }, (_, i) => `i${i}`);
    let count = 0;
    const error = await (async () => {
      try {
        for await (
          const batch of readListing({
            server: "Jellyfin",
            label: "library 'Movies'",
            maxExtraPasses: 2,
            pass: (stats, ids) => {
              passes++;
              return pagedItems(fetcher(all, { total: () => total }), { stats, ids });
            },
            idOf: (raw) => raw as string,
            idName: "Id",
            map: (page) => (page as string[]).map(asset),
            warn: (m) => warnings.push(m),
          })
        ) count += batch.length;
      } catch (e) {
        return e as Error & { code?: string };
      }
    })();
    return { warnings, passes, count, error };
  };
  const within = await read(297, 300);
  equal(within.error, undefined);
  equal(within.passes, 1, "a tolerated shortfall is not read again");
  equal(within.count, 297);
  deepStrictEqual(within.warnings, [
    "Jellyfin listed 297 of the 300 items it counts in library 'Movies'; the 3 it did not list " +
    "are taken as not there (a server's count can be off: Jellyfin 10.11 counts a few items it " +
    "never lists); run the ingest again if items are missing",
  ]);
  const beyond = await read(296, 300);
  equal(beyond.error?.code, "MALFORMED_RESPONSE");
  equal(beyond.passes, 3);
  equal((await read(9, 10)).error, undefined, "one item at least is tolerated");
  equal((await read(8, 10)).error?.code, "MALFORMED_RESPONSE");
});

Deno.test("readListing: items without an id keep every stored asset (holdAll), once, with a warning", async () => {
  const run = async (items: unknown[]) => {
    const warnings: string[] = [];
    let held = 0;
    for await (
      const _ of readListing({
        server: "Den",
        label: "Movies",
        maxExtraPasses: 2,
        pass: (stats, ids) =>
          pagedItems(fetcher(items as string[], { total: () => items.length }), { stats, ids }),
        idOf: (raw) => (raw as { id?: string }).id,
        idName: "Id",
        map: () => [],
        warn: (m) => warnings.push(m),
        holdAll: () => held++,
      })
    ) { /* drain */ }
    return { warnings, held };
  };
  deepStrictEqual(await run([{ id: "a" }, { id: "b" }, { id: "c" }]), { warnings: [], held: 0 });
  deepStrictEqual(await run([{ id: "a" }, { name: "no id" }, { id: "c" }]), {
    warnings: [
      "Den listed 1 item(s) of Movies without an Id; as their stored assets cannot be told " +
      "apart, none is removed in this ingest",
    ],
    held: 1,
  });
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

Deno.test("pageMapper: an id given again with another file is reported, not dropped unseen", () => {
  const skipped: string[] = [];
  const map = pageMapper<ListingSkip & { skip: true }>({
    mapItem: (raw) => {
      const [id, path] = raw as [string, string];
      return { ...asset(id), title: id.toUpperCase(), path };
    },
    isSkip: (v): v is ListingSkip & { skip: true } => "skip" in v,
    skipped: (item, reason) => skipped.push(`${item}: ${reason}`),
  });
  deepStrictEqual(map([["a", "/m/a.mkv"], ["b", "/m/b.mkv"]]).length, 2);
  // The same item again (a listing read again): dropped quietly. Another file under a known id
  // (an evil twin, or a file moved meanwhile): the first stays, and the operator is told.
  deepStrictEqual(map([["a", "/m/a.mkv"], ["b", "/evil/twin.mkv"], ["c", "/m/c.mkv"]]), [
    { ...asset("c"), title: "C", path: "/m/c.mkv" },
  ]);
  deepStrictEqual(skipped, [
    "'B' (b): listed again with another file (/evil/twin.mkv) than the first time; the first " +
    "was kept: run the ingest again once the server's library has settled",
  ]);
});

Deno.test("pageMapper: a malformed item's id is held once; past MAX_HELD, everything is held", () => {
  const held: string[] = [];
  let holdAll = 0;
  const map = pageMapper<ListingSkip & { skip: true }>({
    mapItem: (raw) => {
      const n = raw as number;
      return {
        skip: true,
        item: `#${n}`,
        reason: "malformed",
        ...(n >= 0 ? { heldId: `i${n}` } : {}),
      };
    },
    isSkip: (v): v is ListingSkip & { skip: true } => "skip" in v,
    skipped: () => {},
    hold: (id) => held.push(id),
    holdAll: () => holdAll++,
  });
  // A skip without an id holds nothing; the same id twice (a listing read again) holds once.
  map([-1, 0, 0, 1]);
  deepStrictEqual(held, ["i0", "i1"]);
  map(Array.from({ length: MAX_HELD + 10 }, (_, i) => i));
  equal(held.length, MAX_HELD);
  equal(holdAll, 1, "held all once, past the cap");
});

Deno.test("pagedItems: a total below zero or not whole is read as no total", async () => {
  for (const total of [-5, 2.5, Number.NaN]) {
    const starts: number[] = [];
    const stats = newListingStats();
    const counted: number[] = [];
    const pages = await drainPages(
      scripted((start) => {
        starts.push(start);
        return { items: items(start, Math.max(0, Math.min(2, 5 - start))), total, limit: 2 };
      }),
      stats,
      { onTotal: (n) => counted.push(n) },
    );
    // Read to the end as a server that gives no count, and no count told to progress.
    deepStrictEqual(starts, [0, 2, 4, 5], `total ${total}`);
    deepStrictEqual(pages.flat(), items(0, 5));
    equal(stats.firstTotal, undefined);
    deepStrictEqual(counted, []);
  }
});

Deno.test("pagedItems: new items past the total without end are MALFORMED_RESPONSE, not read forever", async () => {
  // Every page full and new, the total stuck at 10: a server that does not page as it says.
  const stats = newListingStats();
  const fetch = scripted((start) => ({ items: items(start, 100), total: 10, limit: 100 }));
  const error = await rejects(() => drainPages(fetch, stats));
  equal(error.code, "MALFORMED_RESPONSE");
  match(error.message, /listed 1\d{3} new item\(s\) past its own total of 10 and goes on/);
  ok(stats.pages < 20, `stopped after ${stats.pages} pages`);
});

/**
 * What the Jellyfin and Emby importer tests share: importers with short
 * timeouts, a recording call context, a mock started and closed around a
 * test (checking no secret ever went into a URL), and a full fetch that
 * checks every asset against the host's schema.
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  AssetFilters,
  CollectionKind,
  ImportedAsset,
  Importer,
  ImporterConfig,
} from "../core/contract.ts";
import { importedAssetSchema } from "../core/schemas.ts";
import { createJellyfinImporter } from "../importers/shared/jellyfin_family/mod.ts";
import {
  type JellyfinMock,
  type JellyfinMockOptions,
  startJellyfinMock,
} from "./mocks/jellyfin_server.ts";

/** Short timeouts and backoffs, so error paths stay quick. */
export const tuning = { timeoutMs: 3000, retries: 2, backoffMs: 5 };
/** The Jellyfin importer with {@link tuning}. */
export const fastJellyfin: Importer = createJellyfinImporter({ flavor: "jellyfin", tuning });
/** The Emby importer with {@link tuning}. */
export const fastEmby: Importer = createJellyfinImporter({ flavor: "emby", tuning });

/** The Jellyfin versions the mock plays. */
export const VERSIONS = ["10.8.13", "10.10.7", "10.11.11", "12.0.0"] as const;

/** A call context that records what the importer reported. */
export interface Ctx {
  /** The cancellation signal. */
  signal: AbortSignal;
  /** Every `warn` message. */
  warnings: string[];
  /** Every `skipped(item, reason)`. */
  skips: [string, string][];
  /** Every `unlisted(prefix)`. */
  unlistedPrefixes: string[];
  /** Every `unlisted(id, { exact: true })`. */
  unlistedIds: string[];
  /** Records a warning. */
  warn(message: string): void;
  /** Records a skip. */
  skipped(item: string, reason: string): void;
  /** Records an unlisted prefix, or with `exact` an id. */
  unlisted(prefix: string, options?: { exact?: boolean }): void;
}

/** A fresh recording context. */
export function ctx(signal: AbortSignal = new AbortController().signal): Ctx {
  const c: Ctx = {
    signal,
    warnings: [],
    skips: [],
    unlistedPrefixes: [],
    unlistedIds: [],
    warn: (m) => c.warnings.push(m),
    skipped: (i, r) => c.skips.push([i, r]),
    unlisted: (p, o) => (o?.exact ? c.unlistedIds : c.unlistedPrefixes).push(p),
  };
  return c;
}

/** A source config for the mock (admin API key, page size 4), with overrides. */
export function configOf(mock: JellyfinMock, extra: ImporterConfig = {}): ImporterConfig {
  return { base_url: mock.url, api_key: mock.apiKey, verify_ssl: true, page_size: 4, ...extra };
}

/** The importer of the mock's flavor. */
export function importerFor(mock: JellyfinMock): Importer {
  return mock.flavor === "emby" ? fastEmby : fastJellyfin;
}

/** No request ever carried the API key or a user token in its URL. */
export function assertKeyNeverInUrls(mock: JellyfinMock): void {
  const secrets = [mock.apiKey, ...mock.users.map((u) => u.token)];
  for (const r of mock.requests) {
    for (const s of secrets) assert.ok(!r.url.includes(s), `a secret in ${r.url}`);
  }
}

/** Runs `fn` against a fresh mock, then checks no secret was in a URL, and closes it. */
export async function withMock(
  options: JellyfinMockOptions,
  fn: (mock: JellyfinMock) => Promise<void>,
): Promise<void> {
  const mock = await startJellyfinMock(options);
  try {
    await fn(mock);
    assertKeyNeverInUrls(mock);
  } finally {
    await mock.close();
  }
}

/** The id of the mock's library called `name`. */
export function libraryId(mock: JellyfinMock, name: string): string {
  const lib = mock.nodes.find((n) => n.type === "CollectionFolder" && n.name === name);
  assert.ok(lib, `library ${name}`);
  return lib.id;
}

/** What a fetch yielded and reported. */
export interface Fetched {
  /** The batches, as yielded. */
  pages: ImportedAsset[][];
  /** Every asset, in order. */
  assets: ImportedAsset[];
  /** The context, with its warnings and skips. */
  context: Ctx;
}

/** Options for {@link fetchAll}. */
export interface FetchAllOptions {
  /** Targeted scope; default a full fetch. */
  filters?: AssetFilters;
  /** Config overrides. */
  config?: ImporterConfig;
  /** Default: the importer of the mock's flavor. */
  importer?: Importer;
}

/** Reads a collection to the end; every asset must pass the host's schema. */
export async function fetchAll(
  mock: JellyfinMock,
  collection: { externalId: string; kind: CollectionKind; name?: string },
  options: FetchAllOptions = {},
): Promise<Fetched> {
  const context = ctx();
  const pages: ImportedAsset[][] = [];
  const importer = options.importer ?? importerFor(mock);
  const iterable = importer.fetchAssets(configOf(mock, options.config), {
    ...context,
    collection: { name: collection.name ?? "Library", ...collection },
    filters: options.filters ?? {},
  });
  for await (const value of iterable) {
    assert.ok(Array.isArray(value), "whole pages are yielded");
    pages.push(value);
  }
  for (const a of pages.flat()) {
    const parsed = importedAssetSchema.safeParse(a);
    assert.ok(parsed.success, `host schema accepts ${a.externalId}: ${JSON.stringify(a)}`);
  }
  return { pages, assets: pages.flat(), context };
}

/** Asserts `promise` rejects with an error of `code`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.equal((error as { code?: string }).code, code, (error as Error).message);
    return error as Error;
  }
  throw new assert.AssertionError({ message: `expected a ${code} rejection` });
}

/** Consumes an iterable to the end. */
export async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) { /* consume */ }
}

/** The URLs of the item listings the mock answered (`…/Items`, `…/Episodes`). */
export function itemRequests(mock: JellyfinMock): URL[] {
  return mock.requests.filter((r) => /\/items$/i.test(r.path) || /\/episodes$/i.test(r.path))
    .map((r) => new URL(r.url, mock.url));
}

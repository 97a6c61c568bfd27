/**
 * Stacked videos: a movie or episode that Jellyfin or Emby found split into
 * files (`Movie - cd1.avi`, `Movie - cd2.avi`). A listing gives only the
 * first file, with `PartCount` (2 or more) on the item; the others come from
 * `GET /Videos/{id}/AdditionalParts`, one request per such item (a listing
 * has few). Without them an asset would hold its first file only, and a
 * channel would stop the movie where that file ends.
 *
 * @module
 */

import type { ImportedAsset } from "../../../core/contract.ts";
import { type JellyfinClient, statusOf } from "./_client.ts";

/** `PartCount` of a listed item when it is 2 or more, else undefined. */
export function partCountOf(raw: unknown): number | undefined {
  const count = (raw as { PartCount?: unknown } | null)?.PartCount;
  return typeof count === "number" && Number.isSafeInteger(count) && count >= 2 ? count : undefined;
}

/** The most files an asset may have (the host's limit on `parts`). */
export const MAX_PARTS = 100;

/** Options for {@link addAdditionalParts}. */
export interface AdditionalPartsOptions {
  /** The user every request names (see the module doc of `mod.ts`). */
  userId: string;
  /** The item's `PartCount`. */
  count: number;
  /** Reports what the operator should know. */
  warn(message: string): void;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/**
 * Completes a stacked asset: every part's path in order (`parts`), the size
 * and duration of all parts together. The duration is null, to be measured
 * by an enricher, when a part does not report its own: the first file's
 * alone would end the movie early. When the parts cannot all be read the
 * asset keeps its first file, with a warning; an item gone meanwhile (404)
 * is warned about too; any other failure is the ingest's.
 */
export async function addAdditionalParts(
  client: JellyfinClient,
  asset: ImportedAsset,
  options: AdditionalPartsOptions,
): Promise<void> {
  const label = `'${asset.title}' (id ${asset.externalId})`;
  if (options.count > MAX_PARTS) {
    options.warn(
      `${label} is split into ${options.count} files, more than the ${MAX_PARTS} an ` +
        `asset may have; only its first file is imported`,
    );
    return;
  }
  let body: unknown;
  try {
    body = await client.get(`/Videos/${encodeURIComponent(asset.externalId)}/AdditionalParts`, {
      query: { userId: options.userId },
      signal: options.signal,
    });
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
    options.warn(
      `${label} is split into ${options.count} files, but its parts were not found; ` +
        `only its first file is imported`,
    );
    return;
  }
  const items = (body as { Items?: unknown } | null)?.Items;
  const parts = Array.isArray(items) ? items.map(_part) : [];
  const usable = parts.filter((p): p is _Part => p !== undefined);
  if (asset.path == null || usable.length !== parts.length || usable.length !== options.count - 1) {
    options.warn(
      `${label} is split into ${options.count} files, but the server listed ` +
        `${usable.length} readable additional part(s) of the ${options.count - 1} expected; ` +
        `only its first file is imported`,
    );
    return;
  }
  const paths = [asset.path, ...usable.map((p) => p.path)];
  if (new Set(paths).size !== paths.length) {
    // A part that is the first file again (or another part) would be played twice.
    options.warn(
      `${label} is split into ${options.count} files, but the server listed a file twice ` +
        `among them; only its first file is imported`,
    );
    return;
  }
  asset.parts = paths;
  const sizes = [asset.size, ...usable.map((p) => p.size)];
  asset.size = sizes.every((s) => typeof s === "number") ? _sum(sizes as number[]) : null;
  const durations = [asset.durationMs, ...usable.map((p) => p.durationMs)];
  asset.durationMs = durations.every((d) => typeof d === "number" && d > 0)
    ? _sum(durations as number[])
    : null;
}

interface _Part {
  path: string;
  size: number | null;
  durationMs: number | null;
}

/** One additional part's path, size and duration; undefined when it has no path. */
function _part(raw: unknown): _Part | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  const source = Array.isArray(o.MediaSources) && typeof o.MediaSources[0] === "object"
    ? o.MediaSources[0] as Record<string, unknown> | null
    : null;
  const path = _text(o.Path) ?? _text(source?.Path);
  if (path === undefined) return undefined;
  const size = source?.Size;
  const ticks = typeof o.RunTimeTicks === "number" ? o.RunTimeTicks : source?.RunTimeTicks;
  return {
    path,
    size: typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? size : null,
    durationMs: typeof ticks === "number" && Number.isFinite(ticks) && ticks > 0
      ? Math.round(ticks / 10_000)
      : null,
  };
}

function _text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" && value.length <= 4096 ? value : undefined;
}

function _sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

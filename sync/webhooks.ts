/**
 * The webhook endpoint of `retrovue sync --listen`: `POST /hooks/<source-id>`
 * turns a media server's event into targeted ingests of the collections it
 * touches, handed to the sync loop (which coalesces them).
 *
 * Each request is checked in this order, answering at the first failure and
 * logging one line (never the secret, the query string or the body):
 *
 * | check | answer |
 * |---|---|
 * | path is `/hooks/<id>` | 404 |
 * | method is POST | 405 (`Allow: POST`) |
 * | the source exists and its type takes webhooks (plex, jellyfin, emby) | 404 |
 * | the source's secret, in `X-Retrovue-Secret` or `?secret=` (Plex takes only a URL) | 401 |
 * | the body fits the limit (default 1 MiB, counted as it arrives) | 413 |
 * | the body arrives within the deadline (default 10 s) | 408 |
 * | the body is that server's webhook payload | 400 |
 *
 * then 202, also when the event asks for nothing (playback, a music item, a
 * library that is not a sync-enabled collection): the log line says why.
 * The handler never throws; anything unexpected is a 500 and a log line.
 *
 * Which collections an event reaches: the source's collections of a kind that
 * can hold the item, narrowed to the library the payload names (Plex does);
 * of those, the sync-enabled ones the ingest would accept
 * (`checkIngestAllowed`). A collection that is not sync-enabled is left alone,
 * as the schedule leaves it alone.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { type CollectionRecord, getSource, listCollections } from "../core/catalog.ts";
import { checkIngestAllowed } from "../ingest/mod.ts";
import { EMBY_FORM_FIELD, mapJellyfinWebhook } from "./jellyfin_webhook.ts";
import { mapPlexWebhook, PLEX_FORM_FIELD } from "./plex_webhook.ts";
import type { Enqueue, SyncLog, SyncRequest } from "./types.ts";
import { discardBody, readCappedBody, webhookJson } from "./webhook_body.ts";
import type { WebhookChange, WebhookEvent } from "./webhook_event.ts";
import { checkWebhookSecret, WEBHOOK_SECRET_HEADER } from "./webhook_secret.ts";

/** The default body limit: Plex's payload plus a thumbnail fit comfortably. */
export const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;

/** The default time a client gets to send its whole body. */
export const DEFAULT_WEBHOOK_BODY_TIMEOUT_MS = 10_000;

/** Source types whose webhooks are understood. */
export const WEBHOOK_SOURCE_TYPES: readonly string[] = ["plex", "jellyfin", "emby"];

/** Options for {@link webhookHandler}. */
export interface WebhookHandlerOptions {
  /** Receives each targeted ingest an event asks for. */
  enqueue: Enqueue;
  /** Receives one line per request. */
  log: SyncLog;
  /** Largest body accepted, in bytes (default {@link DEFAULT_WEBHOOK_MAX_BODY_BYTES}). */
  maxBodyBytes?: number;
  /** How long the body may take to arrive (default {@link DEFAULT_WEBHOOK_BODY_TIMEOUT_MS}). */
  bodyTimeoutMs?: number;
}

/** What `Deno.serve` tells a handler about the connection (only the peer is used). */
export interface WebhookConnectionInfo {
  /** The peer's address, for the log line of a refused request. */
  remoteAddr?: { hostname?: string; port?: number };
}

/**
 * Creates the request handler for `Deno.serve`. It reads the catalog through
 * `db` on each request (so a secret set or a collection enabled while sync
 * runs takes effect at once) and never writes to it.
 */
export function webhookHandler(
  db: DatabaseSync,
  options: WebhookHandlerOptions,
): (request: Request, info?: WebhookConnectionInfo) => Promise<Response> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_WEBHOOK_BODY_TIMEOUT_MS;
  const log = (line: string) => {
    try {
      options.log(_printable(line));
    } catch {
      // A failing logger must not fail the request.
    }
  };
  return async (request, info) => {
    try {
      return await _handle(db, request, info, { ...options, log, maxBodyBytes, bodyTimeoutMs });
    } catch (error) {
      discardBody(request);
      log(`webhook: 500 internal error: ${error instanceof Error ? error.message : String(error)}`);
      return _reply(500, { error: "internal error" });
    }
  };
}

interface _Context {
  enqueue: Enqueue;
  log: SyncLog;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
}

async function _handle(
  db: DatabaseSync,
  request: Request,
  info: WebhookConnectionInfo | undefined,
  ctx: _Context,
): Promise<Response> {
  const url = new URL(request.url);
  const sourceId = _sourceIdOf(url.pathname);
  if (sourceId === undefined) {
    discardBody(request);
    ctx.log(`webhook: 404 ${request.method} ${url.pathname.slice(0, 120)}: not a webhook path`);
    return _reply(404, { error: "not found; webhooks are POST /hooks/<source-id>" });
  }
  const label = `webhook ${sourceId}`;
  if (request.method !== "POST") {
    discardBody(request);
    ctx.log(`${label}: 405 ${request.method}: webhooks are POSTed`);
    return _reply(405, { error: "method not allowed; use POST" }, { allow: "POST" });
  }
  const source = getSource(db, sourceId);
  if (!source || !WEBHOOK_SOURCE_TYPES.includes(source.typeId)) {
    discardBody(request);
    const why = source ? `a ${source.typeId} source takes no webhooks` : "no such source";
    ctx.log(`${label}: 404 ${why}`);
    return _reply(404, { error: "no webhook for this source" });
  }
  const presented = request.headers.get(WEBHOOK_SECRET_HEADER) ?? url.searchParams.get("secret");
  if (presented === null || !checkWebhookSecret(db, source.id, { presented })) {
    discardBody(request);
    const from = info?.remoteAddr?.hostname ? ` from ${info.remoteAddr.hostname}` : "";
    const what = presented === null ? "no secret" : "a wrong secret";
    ctx.log(`${label}: 401 ${what}${from}`);
    return _reply(401, { error: "unauthorized" });
  }

  const read = await readCappedBody(request, {
    maxBytes: ctx.maxBodyBytes,
    timeoutMs: ctx.bodyTimeoutMs,
  });
  if ("status" in read) {
    ctx.log(`${label}: ${read.status} ${read.why}`);
    return _reply(read.status, { error: read.why });
  }
  const event = await _parse(source.typeId, read.body, request.headers.get("content-type"));
  if (event.outcome === "malformed") {
    ctx.log(`${label}: 400 ${event.why}`);
    return _reply(400, { error: event.why });
  }
  const name = `${source.typeId} ${event.event}`;
  if (event.outcome === "ignored") {
    ctx.log(`${label}: ${name} ignored: ${event.why}`);
    return _reply(202, { status: "ignored", requests: 0 });
  }
  const count = _enqueueChange(db, { sourceId: source.id, change: event, name, label }, ctx);
  return _reply(202, { status: count > 0 ? "accepted" : "ignored", requests: count });
}

/** Enqueues what a change asks for and logs it with what it could not reach; returns the count. */
function _enqueueChange(
  db: DatabaseSync,
  what: { sourceId: string; change: WebhookChange; name: string; label: string },
  ctx: _Context,
): number {
  const { requests, skipped } = _requestsFor(db, what.sourceId, what.change, what.name);
  for (const request of requests) ctx.enqueue(request);
  const notes = [
    ...(requests.length > 0
      ? [`enqueued for ${requests.map((r) => r.collectionId).join(", ")}`]
      : []),
    ...skipped,
  ];
  const ignored = requests.length === 0 ? " ignored" : "";
  ctx.log(`${what.label}: ${what.name}: ${what.change.what}${ignored}: ${notes.join("; ")}`);
  return requests.length;
}

/** The source id of `/hooks/<id>` (a trailing slash allowed), or undefined. */
function _sourceIdOf(pathname: string): string | undefined {
  const match = pathname.match(/^\/hooks\/([^/]+)\/?$/);
  if (!match) return undefined;
  try {
    const id = decodeURIComponent(match[1]);
    return /^[\w.-]{1,100}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

async function _parse(
  typeId: string,
  body: Uint8Array<ArrayBuffer>,
  contentType: string | null,
): Promise<WebhookEvent> {
  const plex = typeId === "plex";
  const json = await webhookJson(body, {
    contentType,
    formField: plex ? PLEX_FORM_FIELD : EMBY_FORM_FIELD,
  });
  if ("malformed" in json) return { outcome: "malformed", why: json.malformed };
  return plex ? mapPlexWebhook(json.payload) : mapJellyfinWebhook(json.payload);
}

/**
 * The sync requests a change asks for, and a note for each collection it
 * could have reached but does not.
 */
function _requestsFor(
  db: DatabaseSync,
  sourceId: string,
  change: WebhookChange,
  name: string,
): { requests: SyncRequest[]; skipped: string[] } {
  const all = listCollections(db, { sourceId });
  const skipped: string[] = [];
  let candidates: CollectionRecord[];
  if (change.libraryId !== undefined) {
    candidates = all.filter((c) => c.externalId === change.libraryId);
    if (candidates.length === 0) {
      skipped.push(
        `library ${change.libraryId} is not a collection of this source ` +
          `(run 'source discover ${sourceId}')`,
      );
    }
  } else {
    candidates = all.filter((c) => change.kinds.includes(c.kind));
    if (candidates.length === 0) skipped.push("the source has no collection that holds it");
  }
  const requests: SyncRequest[] = [];
  for (const c of candidates) {
    const why = _notTargetable(db, c, change);
    if (why) skipped.push(`'${c.name}' (${c.id}) ${why}`);
    else {
      requests.push({
        collectionId: c.id,
        filters: change.filters,
        reason: `${name}: ${change.what}`,
      });
    }
  }
  return { requests, skipped };
}

function _notTargetable(
  db: DatabaseSync,
  c: CollectionRecord,
  change: WebhookChange,
): string | undefined {
  if (!change.kinds.includes(c.kind)) return `holds ${c.kind}, not this item`;
  if (!c.syncEnabled) return "is not sync-enabled";
  try {
    checkIngestAllowed(db, c.id, change.filters);
    return undefined;
  } catch (error) {
    return `cannot be ingested: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function _reply(
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** One line, no control characters, bounded: payload text reaches the log. */
function _printable(line: string): string {
  // deno-lint-ignore no-control-regex
  const flat = line.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return flat.length > 500 ? `${flat.slice(0, 499)}…` : flat;
}

/**
 * Reading a webhook's body: size-capped and time-limited as it arrives, then
 * its JSON, wherever the server put it.
 *
 * Servers post their JSON in one of two ways: as the body itself (the
 * Jellyfin webhook plugin, Emby with "application/json"), or as one field of
 * a `multipart/form-data` form (Plex's `payload`, next to a thumbnail; Emby's
 * `data` with "multipart/form-data"). Both are read the same way here, so
 * each server's mapping sees parsed JSON only.
 *
 * @module
 */

/** Limits for {@link readCappedBody}. */
export interface BodyLimits {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** How long the whole body may take to arrive, in milliseconds. */
  timeoutMs: number;
}

/** A body read whole, or the status that refuses it and why. */
export type CappedBody =
  | { body: Uint8Array<ArrayBuffer> }
  | { status: 400 | 408 | 413; why: string };

/**
 * Reads a request's body, counting bytes as they arrive: it stops at the
 * first byte over the limit (a `Content-Length` over it is refused before
 * reading, and a false one does not help) and at the deadline, so a client
 * can neither fill memory nor hold the handler open.
 */
export async function readCappedBody(request: Request, limits: BodyLimits): Promise<CappedBody> {
  const tooLarge = {
    status: 413 as const,
    why: `the body is larger than ${limits.maxBytes} bytes`,
  };
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    discardBody(request);
    return tooLarge;
  }
  if (!request.body) return { body: new Uint8Array(0) };
  const reader = request.body.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, limits.timeoutMs);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (timedOut || done) break;
      total += value.byteLength;
      if (total > limits.maxBytes) {
        reader.cancel().catch(() => {});
        return tooLarge;
      }
      chunks.push(value);
    }
  } catch {
    if (!timedOut) return { status: 400, why: "the body could not be read" };
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    return { status: 408, why: `the body did not arrive within ${limits.timeoutMs} ms` };
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return { body };
}

/** Drops a body that will not be read, without waiting for it. */
export function discardBody(request: Request): void {
  if (request.body && !request.bodyUsed) request.body.cancel().catch(() => {});
}

/** A webhook's JSON, or why there is none. */
export type WebhookJson = { payload: unknown } | { malformed: string };

/**
 * The JSON of a webhook body: the form field `formField` of a
 * `multipart/form-data` or url-encoded body (other parts, such as Plex's
 * thumbnail, are ignored), else the body itself, whatever its declared type
 * (template-based senders label JSON loosely).
 */
export async function webhookJson(
  body: Uint8Array<ArrayBuffer>,
  options: { contentType: string | null; formField: string },
): Promise<WebhookJson> {
  const type = (options.contentType ?? "").toLowerCase();
  let text: string;
  if (
    type.startsWith("multipart/form-data") || type.startsWith("application/x-www-form-urlencoded")
  ) {
    let form: FormData;
    try {
      form = await new Response(body, { headers: { "content-type": options.contentType! } })
        .formData();
    } catch {
      return { malformed: "the form data cannot be parsed" };
    }
    const field = form.get(options.formField);
    if (typeof field !== "string") {
      return { malformed: `the form has no '${options.formField}' field` };
    }
    text = field;
  } else {
    text = new TextDecoder().decode(body);
  }
  try {
    return { payload: JSON.parse(text) };
  } catch {
    return { malformed: "the payload is not JSON" };
  }
}

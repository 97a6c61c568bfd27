/** Reading webhook bodies: the byte cap, the deadline, and where the JSON is. */

import assert from "node:assert/strict";
import { readCappedBody, webhookJson } from "../sync/webhook_body.ts";
import { plexEpisode, plexPayload } from "./_sync_webhook_payloads.ts";

const LIMITS = { maxBytes: 1000, timeoutMs: 5000 };

function _post(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request("http://127.0.0.1/hooks/x", { method: "POST", body, headers });
}

/** A body of `chunks` chunks of 100 bytes, counting how many were pulled. */
function _chunked(chunks: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(100).fill(0x61));
    },
  });
  return { stream, pulled: () => pulled };
}

Deno.test("a body up to the limit is read whole; an empty one is empty", async () => {
  const exact = await readCappedBody(_post(_chunked(10).stream), LIMITS);
  assert.ok("body" in exact);
  assert.equal(exact.body.byteLength, 1000);
  assert.ok(exact.body.every((b) => b === 0x61));

  const empty = await readCappedBody(new Request("http://127.0.0.1/", { method: "POST" }), LIMITS);
  assert.ok("body" in empty);
  assert.equal(empty.body.byteLength, 0);
});

Deno.test("one byte over the limit is 413, and reading stops there", async () => {
  const declared = await readCappedBody(_post("x".repeat(1001)), LIMITS);
  assert.deepEqual(declared, { status: 413, why: "the body is larger than 1000 bytes" });

  const endless = _chunked(1_000_000);
  const streamed = await readCappedBody(_post(endless.stream), LIMITS);
  assert.ok("status" in streamed && streamed.status === 413);
  assert.ok(endless.pulled() <= 12, `pulled ${endless.pulled()} chunks of 100 bytes`);
});

Deno.test("a body that stops arriving is 408 at the deadline", async () => {
  const stalled = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(10));
    },
  });
  const read = await readCappedBody(_post(stalled), { maxBytes: 1000, timeoutMs: 30 });
  assert.deepEqual(read, { status: 408, why: "the body did not arrive within 30 ms" });
});

Deno.test("the JSON of a multipart form is its named field; a thumbnail part is ignored", async () => {
  const form = new FormData();
  form.append("payload", JSON.stringify(plexPayload("library.new", plexEpisode())));
  form.append("thumb", new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])], "thumb.jpg"));
  const request = _post(form);
  const json = await webhookJson(new Uint8Array(await request.arrayBuffer()), {
    contentType: request.headers.get("content-type"),
    formField: "payload",
  });
  assert.ok("payload" in json);
  assert.equal((json.payload as { event: string }).event, "library.new");

  // Emby, set to multipart/form-data, puts its JSON in `data`.
  const emby = new FormData();
  emby.append("data", JSON.stringify({ Event: "library.new", Item: { Type: "Movie" } }));
  const embyRequest = _post(emby);
  const embyJson = await webhookJson(new Uint8Array(await embyRequest.arrayBuffer()), {
    contentType: embyRequest.headers.get("content-type"),
    formField: "data",
  });
  assert.ok("payload" in embyJson);
  assert.deepEqual(embyJson.payload, { Event: "library.new", Item: { Type: "Movie" } });
});

Deno.test("a url-encoded form works too; any other body is parsed as JSON", async () => {
  const encoded = new TextEncoder().encode(
    `payload=${encodeURIComponent(JSON.stringify({ event: "media.play" }))}`,
  );
  const form = await webhookJson(encoded, {
    contentType: "application/x-www-form-urlencoded",
    formField: "payload",
  });
  assert.deepEqual(form, { payload: { event: "media.play" } });

  const body = new TextEncoder().encode('{"NotificationType":"ItemAdded"}');
  for (const contentType of ["application/json; charset=utf-8", "text/plain", null]) {
    const json = await webhookJson(body, { contentType, formField: "data" });
    assert.deepEqual(json, { payload: { NotificationType: "ItemAdded" } }, String(contentType));
  }
});

Deno.test("what is not JSON where it should be is malformed, with the reason", async () => {
  const text = (s: string) => new TextEncoder().encode(s);
  const other = new FormData();
  other.append("other", "1");
  const otherRequest = _post(other);
  const cases: [Uint8Array<ArrayBuffer>, string | null, RegExp][] = [
    [text("{"), "application/json", /not JSON/],
    [text("garbage"), "multipart/form-data; boundary=xyz", /cannot be parsed/],
    [
      new Uint8Array(await otherRequest.arrayBuffer()),
      otherRequest.headers.get("content-type"),
      /no 'payload' field/,
    ],
    [text("payload=%7B"), "application/x-www-form-urlencoded", /not JSON/],
  ];
  for (const [body, contentType, why] of cases) {
    const json = await webhookJson(body, { contentType, formField: "payload" });
    assert.ok("malformed" in json, String(contentType));
    assert.match(json.malformed, why);
  }
});

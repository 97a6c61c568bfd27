/**
 * The channel protocol's byte helpers: a frame carries what it relays byte
 * for byte, and spent frames are freed at once, only when this process owns
 * the whole buffer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { releaseBytes, splitFrames, workerFrame } from "../registry/_protocol.ts";

Deno.test("releaseBytes frees a buffer the bytes fill, and leaves views and shared memory alone", () => {
  const whole = new TextEncoder().encode('{"t":"end","id":1}');
  releaseBytes(whole);
  assert.equal(whole.buffer.byteLength, 0, "the whole buffer is detached");
  assert.ok((whole.buffer as ArrayBuffer).detached);
  releaseBytes(whole); // Already detached: nothing to do, no error.

  const backing = new Uint8Array(64).fill(65);
  const view = backing.subarray(8, 16);
  releaseBytes(view);
  assert.equal(backing.buffer.byteLength, 64, "a view of part of a buffer is not ours to free");
  assert.equal(view[0], 65);

  const shared = new Uint8Array(new SharedArrayBuffer(16)).fill(66);
  releaseBytes(shared);
  assert.equal(shared.byteLength, 16, "shared memory is never detached");
});

Deno.test("splitFrames: frames read from released chunks stay intact", () => {
  // How the CLI reads the channel: each chunk is split, then released.
  const frames: string[] = [];
  const split = splitFrames({
    maxFrameBytes: 1024,
    onFrame: (frame) => frames.push(new TextDecoder().decode(frame)),
  });
  const text = "first\nsecond spans\nthird\n";
  const bytes = new TextEncoder().encode(text);
  for (const [start, end] of [[0, 9], [9, 15], [15, bytes.length]]) {
    const chunk = bytes.slice(start, end);
    split.push(chunk);
    releaseBytes(chunk);
    assert.equal(chunk.byteLength, 0);
  }
  assert.deepEqual(frames, ["first", "second spans", "third"]);
});

Deno.test("workerFrame: a string payload frames as its UTF-8 bytes would", () => {
  // ASCII is encoded straight into the frame; anything else takes the encode-then-copy path.
  const texts = ['{"title":"Amelie"}', '{"title":"Amélie 🎬"}', "a lone \ud800 surrogate"];
  for (const text of texts) {
    const bytes = new TextEncoder().encode(text);
    const fromString = workerFrame("n0nce", { wid: 12, payload: text });
    assert.deepEqual(fromString, workerFrame("n0nce", { wid: 12, payload: bytes }), text);
    assert.equal(
      new TextDecoder().decode(fromString),
      `n0nce12 ${new TextDecoder().decode(bytes)}\n`,
    );
  }
});

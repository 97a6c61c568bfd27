/** SHA-256 in plain TypeScript: the catalog's collection ids depend on it matching the standard. */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Hex } from "../core/sha256.ts";

Deno.test("sha256Hex: the FIPS 180-4 examples", () => {
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex(""),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256Hex agrees with node:crypto across block boundaries and UTF-8", () => {
  const samples: string[] = [];
  for (let n = 0; n <= 200; n++) samples.push("x".repeat(n));
  samples.push("plex-1a2b\0/library/sections/2", "Amélie — 日本語 🎬", "\0".repeat(64));
  for (const text of samples) {
    assert.equal(sha256Hex(text), createHash("sha256").update(text, "utf8").digest("hex"), text);
  }
});

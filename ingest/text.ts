/**
 * Display text as the catalog stores and compares it. Its own module, free
 * of the ingest's heavier dependencies, so that a command can check a
 * targeted scope's title before any of those load (see `scope.ts`).
 *
 * @module
 */

const _NEEDS_WORK = /[^\x21-\x7e ]| {2}|^ | $/;

/**
 * Normalises display text: Unicode NFC, control characters removed, runs of
 * whitespace collapsed to one space, trimmed. Used for titles and for the
 * title a targeted scope asks for, so both compare alike.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeText } from "./mod.ts";
 *
 * assert.equal(normalizeText("  Alpha\t\u0000 Beta "), "Alpha Beta");
 * assert.equal(normalizeText("Cafe\u0301"), "Caf\u00e9");
 * ```
 */
export function normalizeText(text: string): string {
  if (!_NEEDS_WORK.test(text)) return text; // plain ASCII, single spaces: already normal
  // deno-lint-ignore no-control-regex
  return text.normalize("NFC").replace(/[\u0000-\u001f\u007f]/g, " ").replace(/\s+/g, " ")
    .trim();
}

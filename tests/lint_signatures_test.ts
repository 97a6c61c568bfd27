/**
 * The `deno lint` plugin that holds the house signature rule
 * (`lint/signatures.ts`): what it reports and what it lets through.
 */

import assert from "node:assert/strict";
import plugin from "../lint/signatures.ts";

/** The functions the rule reports in `source`, by name, in source order. */
function _reported(source: string): string[] {
  return Deno.lint.runPlugin(plugin, "example.ts", source).map((d) =>
    /function '([^']+)'/.exec(d.message)?.[1] ?? d.message
  );
}

Deno.test("signature rule: a third positional that is not an options object is reported", () => {
  assert.deepEqual(
    _reported(`
      export function at(db: object, id: string, at: Date): void {}
      export function ids(db: object, id: string, ids: readonly string[]): void {}
      export function limit(db: object, plan: object, limit: number | undefined): void {}
      export function callback(a: string, b: string, fn: () => void): void {}
      export const arrow = (a: string, b: string, c: boolean): void => {};
      export function four(a: string, b: string, c: object, d: object): void {}
      export function rest(a: string, b: string, ...more: string[]): void {}
    `),
    ["at", "ids", "limit", "callback", "arrow", "four", "rest"],
  );
});

Deno.test("signature rule: two positionals then an object, or private functions, pass", () => {
  assert.deepEqual(
    _reported(`
      interface Options { now?: () => Date }
      export function two(db: object, id: string): void {}
      export function named(db: object, id: string, options: Options = {}): void {}
      export function literal(db: object, id: string, options: { limit: number }): void {}
      export function optional(a: string, b: string, options?: Options): void {}
      export function both(a: string, b: string, o: Options & { x: number }): void {}
      function _private(a: string, b: string, c: number, d: number): void {}
      const local = (a: string, b: string, c: number): void => {};
    `),
    [],
  );
});

/**
 * The manifest schema refuses params that would only fail later (at
 * `source add`, or when a grant or default is used): reserved flags, grants
 * on the wrong kind, defaults of the wrong type or range, `min > max`.
 */

import assert from "node:assert/strict";
import type { ParamSpec } from "../core/contract.ts";
import { describeZodError, manifestSchema, RESERVED_FLAGS } from "../core/schemas.ts";

function _parse(param: Record<string, unknown>): string | null {
  const base = { name: "p", flag: "--p", kind: "string", description: "a param" };
  const parsed = manifestSchema.safeParse({
    typeId: "schema-test",
    displayName: "Schema test",
    params: [{ ...base, ...param }],
    capabilities: { filters: {} },
  });
  return parsed.success ? null : describeZodError(parsed.error);
}

Deno.test("manifest schema: every reserved flag is refused", () => {
  assert.ok(RESERVED_FLAGS.includes("--name") && RESERVED_FLAGS.includes("--json"));
  for (const flag of RESERVED_FLAGS) {
    assert.match(_parse({ flag }) ?? "accepted", /one of the CLI's own options/, flag);
  }
  assert.equal(_parse({ flag: "--base-url" }), null);
});

Deno.test("manifest schema: a grant sits on the kind it grants", () => {
  assert.match(_parse({ grants: "net" }) ?? "accepted", /grants: "net" needs kind "url"/);
  assert.match(
    _parse({ kind: "url", grants: "read" }) ?? "accepted",
    /grants: "read" needs kind "path"/,
  );
  assert.equal(_parse({ kind: "url", grants: "net" }), null);
  assert.equal(_parse({ kind: "path", grants: "read" }), null);
});

Deno.test("manifest schema: a default fits its kind and range; min is at most max", () => {
  const cases: Array<[Partial<ParamSpec>, RegExp | null]> = [
    [{ kind: "integer", default: "10" }, /default "10" is not a valid integer/],
    [{ kind: "integer", default: 1.5 }, /not a valid integer/],
    [{ kind: "boolean", default: "yes" }, /not a valid boolean/],
    [{ kind: "string", default: 3 }, /not a valid string/],
    [{ kind: "integer", default: 50, min: 1, max: 10 }, /outside min\.\.max/],
    [{ kind: "integer", min: 10, max: 1 }, /min 10 is larger than max 1/],
    [{ kind: "integer", default: 5, min: 1, max: 10 }, null],
    [{ kind: "boolean", default: false }, null],
  ];
  for (const [param, expected] of cases) {
    const problem = _parse(param);
    if (expected === null) assert.equal(problem, null, JSON.stringify(param));
    else assert.match(problem ?? "accepted", expected, JSON.stringify(param));
  }
});

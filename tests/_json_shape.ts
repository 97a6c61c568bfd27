/**
 * The machine-readable `--json` shapes of `docs/cli.md`, and a checker for
 * them, so that the documented shapes and the real output cannot drift.
 *
 * In `docs/cli.md`, a line that is just `<!-- shape: NAME -->`, followed by a ```` ```json ````
 * block defines shape NAME: a command path (`source list`) or a shared shape
 * (`$Collection`). A shape is JSON:
 *
 * - an object: exactly these keys (a key ending in `?` may be missing);
 *   `"...": "$Name"` also allows the keys of shared shape `$Name`;
 *   `{ "$oneOf": [A, B] }` is A or B; `{ "$record": A }` is an object with any
 *   keys whose values are A;
 * - `[A]`: an array whose elements are all A;
 * - a string: alternatives separated by `|`, each `string`, `number`,
 *   `integer`, `boolean`, `null`, `any`, `'literal'`, `$Name`, or one of
 *   those followed by `[]` (an array of it).
 *
 * @module
 */

/** A shape as written in `docs/cli.md`. */
export type Shape = string | Shape[] | { [key: string]: Shape };

/**
 * Every `<!-- shape: NAME -->` block of `markdown`, by name. Throws on a
 * name defined twice or a marker without a JSON block after it.
 */
export function docShapes(markdown: string): Map<string, Shape> {
  const shapes = new Map<string, Shape>();
  const re = /^<!-- shape: ([^>]+?) -->\s*```json\n([\s\S]*?)\n```/gm;
  const markers = [...markdown.matchAll(/^<!-- shape: ([^>]+?) -->$/gm)].length;
  for (const m of markdown.matchAll(re)) {
    const name = m[1].trim();
    if (shapes.has(name)) throw new Error(`shape '${name}' is defined twice`);
    try {
      shapes.set(name, JSON.parse(m[2]));
    } catch (error) {
      throw new Error(`shape '${name}' is not JSON: ${(error as Error).message}`);
    }
  }
  if (shapes.size !== markers) throw new Error("a shape marker has no ```json block after it");
  return shapes;
}

/** Options of {@link shapeErrors}. */
export interface ShapeErrorsOptions {
  /** Resolves `$Name` references. */
  named: ReadonlyMap<string, Shape>;
  /** The JSON path of `value`, for the messages (default `$`). */
  path?: string;
}

/**
 * Where `value` departs from `shape` (JSON paths with what was expected);
 * empty when it matches.
 */
export function shapeErrors(value: unknown, shape: Shape, options: ShapeErrorsOptions): string[] {
  const { named, path = "$" } = options;
  if (typeof shape === "string") return _typeErrors(value, shape, named, path);
  if (Array.isArray(shape)) {
    if (shape.length !== 1) return [`${path}: bad shape (an array shape has one element)`];
    if (!Array.isArray(value)) return [`${path}: expected an array, got ${_kind(value)}`];
    return value.flatMap((v, i) => shapeErrors(v, shape[0], { named, path: `${path}[${i}]` }));
  }
  if ("$oneOf" in shape) {
    const options = shape.$oneOf as Shape[];
    const results = options.map((s) => shapeErrors(value, s, { named, path }));
    if (results.some((r) => r.length === 0)) return [];
    return [
      `${path}: matches none of ${options.length} alternatives: ${results.flat().join("; ")}`,
    ];
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [`${path}: expected an object, got ${_kind(value)}`];
  }
  const record = value as Record<string, unknown>;
  if ("$record" in shape) {
    return Object.entries(record).flatMap(([k, v]) =>
      shapeErrors(v, shape.$record, { named, path: `${path}.${k}` })
    );
  }
  const keys = _objectKeys(shape, named);
  const errors: string[] = [];
  for (const [key, { shape: s, optional }] of keys) {
    if (!(key in record)) {
      if (!optional) errors.push(`${path}: missing key '${key}'`);
      continue;
    }
    errors.push(...shapeErrors(record[key], s, { named, path: `${path}.${key}` }));
  }
  for (const key of Object.keys(record)) {
    if (!keys.has(key)) errors.push(`${path}: key '${key}' is not documented`);
  }
  return errors;
}

function _objectKeys(
  shape: { [key: string]: Shape },
  named: ReadonlyMap<string, Shape>,
): Map<string, { shape: Shape; optional: boolean }> {
  const keys = new Map<string, { shape: Shape; optional: boolean }>();
  for (const [key, s] of Object.entries(shape)) {
    if (key === "...") {
      const base = _resolve(String(s), named);
      if (typeof base !== "object" || Array.isArray(base)) {
        throw new Error(`'...': '${s}' is not an object shape`);
      }
      for (const [k, v] of _objectKeys(base, named)) keys.set(k, v);
      continue;
    }
    const optional = key.endsWith("?");
    keys.set(optional ? key.slice(0, -1) : key, { shape: s, optional });
  }
  return keys;
}

function _resolve(name: string, named: ReadonlyMap<string, Shape>): Shape {
  const shape = named.get(name);
  if (shape === undefined) throw new Error(`unknown shape '${name}'`);
  return shape;
}

function _typeErrors(
  value: unknown,
  type: string,
  named: ReadonlyMap<string, Shape>,
  path: string,
): string[] {
  const alternatives = type.split("|").map((t) => t.trim());
  const failures: string[] = [];
  for (const alt of alternatives) {
    const errors = alt.endsWith("[]")
      ? shapeErrors(value, [alt.slice(0, -2)], { named, path })
      : _oneTypeErrors(value, alt, named, path);
    if (errors.length === 0) return [];
    failures.push(...errors);
  }
  return alternatives.length === 1
    ? failures
    : [`${path}: expected ${type}, got ${_kind(value)} (${failures.join("; ")})`];
}

function _oneTypeErrors(
  value: unknown,
  type: string,
  named: ReadonlyMap<string, Shape>,
  path: string,
): string[] {
  if (type.startsWith("$")) return shapeErrors(value, _resolve(type, named), { named, path });
  if (type.startsWith("'") && type.endsWith("'")) {
    return value === type.slice(1, -1) ? [] : [`${path}: expected ${type}, got ${_kind(value)}`];
  }
  const ok = type === "any" ||
    (type === "string" && typeof value === "string") ||
    (type === "number" && typeof value === "number") ||
    (type === "integer" && Number.isSafeInteger(value)) ||
    (type === "boolean" && typeof value === "boolean") ||
    (type === "null" && value === null);
  if (!["any", "string", "number", "integer", "boolean", "null"].includes(type)) {
    return [`${path}: bad shape type '${type}'`];
  }
  return ok ? [] : [`${path}: expected ${type}, got ${_kind(value)}`];
}

function _kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `'${value.length > 40 ? value.slice(0, 40) + "…" : value}'`;
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

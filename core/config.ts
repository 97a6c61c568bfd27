/**
 * Source configs: parsing operator input against an importer's param spec,
 * and masking secrets for display.
 *
 * The host owns this step: by the time a plugin sees a config, every value
 * has the kind its spec declares, paths are absolute, and URLs are normalised.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import type { ConfigValue, ImporterConfig, ParamSpec } from "./contract.ts";
import { RetrovueError } from "./errors.ts";

/** A raw value as it comes from a command line: a string, repeated strings, or a bare flag. */
export type RawValue = string | string[] | boolean | undefined;

/** Options for {@link validateConfig}. */
export interface ValidateConfigOptions {
  /** Directory that relative paths resolve against. */
  cwd: string;
  /** A previous config to start from (for `source update`). */
  base?: ImporterConfig;
  /** Apply spec defaults for params not given. Defaults to true. */
  applyDefaults?: boolean;
}

/** What a secret looks like in any output. */
export const MASK = "***";

/**
 * Parses raw operator input into a validated config. Throws `CONFIG_INVALID`
 * naming every missing required flag, or the first flag whose value is bad.
 */
export function validateConfig(
  params: readonly ParamSpec[],
  raw: Record<string, RawValue>,
  options: ValidateConfigOptions,
): ImporterConfig {
  const config: ImporterConfig = { ...(options.base ?? {}) };
  const known = new Set(params.map((p) => p.name));
  for (const key of Object.keys(config)) if (!known.has(key)) delete config[key];

  for (const param of params) {
    const value = raw[param.name];
    if (value === undefined) continue;
    config[param.name] = _parseParam(param, value, options.cwd);
  }
  if (options.applyDefaults ?? true) {
    for (const param of params) {
      if (config[param.name] === undefined && param.default !== undefined) {
        config[param.name] = param.multiple ? [String(param.default)] : param.default;
      }
    }
  }
  const missing = params.filter((p) =>
    p.required &&
    (config[p.name] === undefined ||
      (Array.isArray(config[p.name]) && (config[p.name] as string[]).length === 0))
  );
  if (missing.length) {
    throw new RetrovueError(
      "CONFIG_INVALID",
      `missing required ${missing.length === 1 ? "option" : "options"}: ${
        missing.map((p) => p.flag).join(", ")
      }`,
      { details: { missing: missing.map((p) => p.flag) } },
    );
  }
  return config;
}

function _parseParam(param: ParamSpec, value: RawValue, cwd: string): ConfigValue {
  if (param.kind === "boolean") return _parseBoolean(param, value);
  const values = Array.isArray(value) ? value : [value];
  if (!param.multiple && values.length > 1) {
    throw _invalid(param, "may be given only once");
  }
  const parsed = values.map((v) => {
    if (typeof v !== "string") throw _invalid(param, "needs a value");
    return _parseScalar(param, v, cwd);
  });
  if (param.multiple) return parsed.map(String);
  return parsed[0];
}

function _parseBoolean(param: ParamSpec, value: RawValue): boolean {
  const v = Array.isArray(value) ? value.at(-1) : value;
  if (typeof v === "boolean") return v;
  const s = String(v).toLowerCase();
  if (["true", "1", "yes", "on"].includes(s)) return true;
  if (["false", "0", "no", "off"].includes(s)) return false;
  throw _invalid(param, `expects true or false, got '${param.secret ? MASK : v}'`);
}

function _parseScalar(param: ParamSpec, raw: string, cwd: string): string | number {
  let name: string | undefined;
  let value = raw;
  if (param.named) [name, value] = splitNamedValue(raw);
  const shown = param.secret ? MASK : raw;
  let parsed: string | number = value;
  switch (param.kind) {
    case "string":
      if (value === "") throw _invalid(param, "must not be empty");
      parsed = value;
      break;
    case "integer": {
      if (!/^-?\d+$/.test(value.trim())) {
        throw _invalid(param, `expects an integer, got '${shown}'`);
      }
      const n = Number(value);
      if (!Number.isSafeInteger(n)) throw _invalid(param, `is out of range: '${shown}'`);
      if (param.min !== undefined && n < param.min) {
        throw _invalid(param, `must be at least ${param.min}, got ${n}`);
      }
      if (param.max !== undefined && n > param.max) {
        throw _invalid(param, `must be at most ${param.max}, got ${n}`);
      }
      parsed = n;
      break;
    }
    case "url": {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw _invalid(param, `expects an http(s) URL, got '${shown}'`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw _invalid(param, `expects an http(s) URL, got '${shown}'`);
      }
      if (url.username || url.password) {
        throw _invalid(param, "must not carry credentials; use the importer's secret option");
      }
      url.hash = "";
      parsed = url.href.replace(/\/+$/, "");
      break;
    }
    case "path": {
      if (value === "") throw _invalid(param, "must not be empty");
      parsed = isAbsolute(value) ? resolve(value) : resolve(cwd, value);
      break;
    }
  }
  return name === undefined ? parsed : `${name}=${parsed}`;
}

/**
 * Splits `NAME=VALUE` for params declared `named`. A value with no `=`, or
 * whose part before the first `=` contains `/`, has no name.
 */
export function splitNamedValue(raw: string): [name: string | undefined, value: string] {
  const at = raw.indexOf("=");
  if (at <= 0) return [undefined, raw];
  const name = raw.slice(0, at);
  if (name.includes("/")) return [undefined, raw];
  return [name.trim(), raw.slice(at + 1)];
}

function _invalid(param: ParamSpec, message: string): RetrovueError {
  return new RetrovueError("CONFIG_INVALID", `${param.flag} ${message}`, {
    details: { flag: param.flag },
  });
}

/** A copy of `config` with every secret value replaced by {@link MASK}. */
export function maskConfig(
  params: readonly ParamSpec[],
  config: ImporterConfig,
): ImporterConfig {
  const masked: ImporterConfig = { ...config };
  for (const p of params) {
    if (p.secret && masked[p.name] !== undefined) masked[p.name] = MASK;
  }
  return masked;
}

/** The secret values in a config, longest first, for scrubbing text. */
export function secretValues(
  params: readonly ParamSpec[],
  config: ImporterConfig,
): string[] {
  const out: string[] = [];
  for (const p of params) {
    if (!p.secret) continue;
    const v = config[p.name];
    for (const s of Array.isArray(v) ? v : [v]) {
      if (s !== undefined && String(s).length > 0) out.push(String(s));
    }
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of each secret (and its URL-encoded form) in `text` with {@link MASK}. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    for (const form of new Set([s, encodeURIComponent(s)])) {
      if (form.length >= 3) out = out.split(form).join(MASK);
    }
  }
  return out;
}

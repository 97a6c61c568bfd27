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
  _checkText(param, raw);
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
    case "url":
      parsed = _parseUrl(param, value);
      break;
    case "path": {
      if (value === "") throw _invalid(param, "must not be empty");
      parsed = isAbsolute(value) ? resolve(value) : resolve(cwd, value);
      break;
    }
  }
  return name === undefined ? parsed : `${name}=${parsed}`;
}

/**
 * A URL param's value: an http(s) URL without a trailing slash. A query
 * string, a fragment or `user:password@` credentials are refused (a server's
 * key in `?api_key=…` would be printed with the URL and break every request
 * URL the importer builds on it); no message repeats what is refused.
 */
function _parseUrl(param: ParamSpec, value: string): string {
  const url = URL.parse(value);
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    const shown = param.secret ? MASK : _urlShown(value);
    throw _invalid(param, `expects an http(s) URL, got '${shown}'`);
  }
  if (url.username || url.password) {
    throw _invalid(
      param,
      "must not carry credentials (user:password@): remove them and give the key or token " +
        "through the importer's secret option",
    );
  }
  const [beforeFragment] = url.href.split("#", 1);
  if (beforeFragment.includes("?")) {
    throw _invalid(
      param,
      "must not carry a query string (?…): remove it and give the server's base URL only " +
        "(a key or token goes through the importer's secret option)",
    );
  }
  if (beforeFragment !== url.href) {
    throw _invalid(param, "must not carry a fragment (#…): remove it");
  }
  if (url.hostname.length > MAX_HOST_LENGTH) {
    throw _invalid(param, `has a host name longer than ${MAX_HOST_LENGTH} characters`);
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * What an error may show of a URL it refuses: the text before any `?` or
 * `#`, without `user:password@`, followed by `…` when something was left out.
 */
function _urlShown(raw: string): string {
  const head = raw.split(/[?#]/, 1)[0];
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(head)?.[0] ?? "";
  const rest = head.slice(scheme.length);
  const end = rest.search(/[/\\]/);
  const at = (end === -1 ? rest : rest.slice(0, end)).lastIndexOf("@");
  const shown = at === -1 ? head : scheme + rest.slice(at + 1);
  return shown === raw ? shown : `${shown}…`;
}

/** The longest value a param of each kind takes (a secret: 64 KiB; other strings: 1024). */
export const MAX_VALUE_LENGTH: Readonly<Record<"string" | "secret" | "url" | "path", number>> = {
  string: 1024,
  secret: 64 * 1024,
  url: 2048,
  path: 4096,
};

/** The longest host name a URL param takes (DNS's limit). */
export const MAX_HOST_LENGTH = 253;

/**
 * Refuses control characters and line breaks in any value (they corrupt
 * headers, logs and tables), values longer than {@link MAX_VALUE_LENGTH},
 * and, in secrets, characters beyond Latin-1: a token travels in an HTTP
 * header, which cannot carry them, so it would fail only at the first
 * request. Messages never show a secret.
 */
function _checkText(param: ParamSpec, raw: string): void {
  const kind = param.secret && param.kind === "string" ? "secret" : param.kind;
  const max = MAX_VALUE_LENGTH[kind as keyof typeof MAX_VALUE_LENGTH] ?? MAX_VALUE_LENGTH.string;
  if (raw.length > max) throw _invalid(param, `is longer than ${max} characters`);
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) {
    throw _invalid(param, "must not contain control characters or line breaks");
  }
  if (kind === "secret" && /[^\x20-\xff]/.test(raw)) {
    throw _invalid(
      param,
      "must contain only Latin-1 characters (it is sent in an HTTP header); check that it " +
        "was copied whole",
    );
  }
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

/** Shortest secret that is scrubbed at all (shorter ones would mask ordinary text). */
const MIN_SECRET = 3;

/**
 * Shortest secret whose disguised forms (case variants, base64, hex,
 * reversed) are also looked for, and shortest such form: below this, random
 * text would match too often.
 */
const MIN_DERIVED = 6;

/**
 * Every form of a set of secrets, compiled once: see {@link secretForms}.
 * Pass it to {@link redact} and {@link carriesSecret} instead of the raw
 * secrets when the same secrets check many texts.
 */
export interface SecretForms {
  /** How many secrets are looked for; 0 makes every check free. */
  readonly size: number;
  /** Whether `text` carries any form of any of the secrets. */
  test(text: string): boolean;
  /** `text` with every form of every secret replaced by {@link MASK}. */
  mask(text: string): string;
}

/**
 * Longest form compiled into the RegExp: V8 refuses a pattern of some tens of
 * thousands of characters, so longer forms (of a secret read from a file, up
 * to 64 KiB) are looked for as plain text, case-insensitively.
 */
const MAX_PATTERN = 4096;

const _NO_FORMS: SecretForms = Object.freeze({
  size: 0,
  test: () => false,
  mask: (text: string) => text,
});

/**
 * Compiles the forms in which a secret may leak, so that a hostile plugin
 * cannot pass its own credential off in disguise:
 *
 * - a secret with blanks around it: also the same without them;
 * - a secret of 3 to 5 characters: itself and its URL-encoded form, exactly
 *   (as anything more would match ordinary text); shorter ones are ignored;
 * - a secret of 6 characters or more, case-insensitively (so its upper- and
 *   lower-case variants too): itself, URL-encoded, hex and reversed forms of
 *   it, and base64 of its UTF-8 bytes in the standard and URL-safe alphabets
 *   at each of the three byte alignments. For base64 the characters that
 *   depend solely on the secret's bytes are a form (so the secret is found
 *   inside a longer base64 text such as `user:TOKEN` for HTTP Basic auth), and
 *   so are the longer tails, with and without padding, for a secret that ends
 *   the encoded text. Forms shorter than 6 characters are left out.
 *
 * The forms become the alternatives of one RegExp, longest first (plus one
 * case-sensitive RegExp when some secret is shorter than 6), so a check is
 * one pass over the text; `test` first reads a window every few characters
 * to rule most texts out without it (see `_Screen`).
 */
export function secretForms(secrets: readonly string[]): SecretForms {
  const folded = new Set<string>();
  const exact = new Set<string>();
  const long = new Set<string>();
  // A secret kept with blanks around it (`--token-env` keeps a value exactly) leaks as well
  // without them: a plugin may trim what it was given.
  const given = new Set(secrets.flatMap((s) => s.trim() === s ? [s] : [s, s.trim()]));
  for (const secret of given) {
    if (secret.length < MIN_SECRET) continue;
    if (secret.length < MIN_DERIVED) {
      exact.add(secret);
      exact.add(encodeURIComponent(secret));
      continue;
    }
    for (const form of _derivedForms(secret)) {
      if (form.length > MAX_PATTERN) long.add(form);
      else if (form.length >= MIN_DERIVED) folded.add(form);
    }
  }
  if (folded.size === 0 && exact.size === 0 && long.size === 0) return _NO_FORMS;
  const patterns: RegExp[] = [];
  if (folded.size) patterns.push(_alternation(folded, "i"));
  if (exact.size) patterns.push(_alternation(exact, ""));
  const masks = patterns.map((p) => new RegExp(p.source, p.flags + "g"));
  const plain = [...long].sort((a, b) => b.length - a.length)
    .map((form) => [form, form.toLowerCase()] as const);
  const screen = _screenOf([...folded, ...exact]);
  const test = (text: string): boolean => {
    if (screen === undefined || _mayCarry(text, screen)) {
      for (const p of patterns) if (p.test(text)) return true;
    }
    return plain.length > 0 && _hasPlain(text, plain);
  };
  return Object.freeze({
    size: secrets.filter((s) => s.length >= MIN_SECRET).length,
    test,
    mask: (text: string) => masks.reduce((out, m) => out.replace(m, MASK), _maskPlain(text, plain)),
  });
}

/**
 * A cheap screen in front of the forms' RegExps, which cost ~1 ns per
 * character scanned (an ingest tests every stored text of every asset). A
 * form of `length` characters or more that occurs in a text covers
 * `length - GRAM + 1` consecutive `GRAM`-character windows, so one of them
 * starts at a multiple of that `stride`: when none of the windows at those
 * positions is one of the forms' windows (case-folded, hashed into `bits`),
 * the text carries no form and the RegExps need not run. It can only say
 * "maybe" wrongly, never "no".
 */
interface _Screen {
  /** Positions of the windows looked at: 0, stride, 2 * stride, … */
  readonly stride: number;
  /** The shortest form: a shorter text carries none. */
  readonly length: number;
  /** A bit per hashed window that occurs in some form. */
  readonly bits: Uint32Array;
}

/** Characters per window of the screen. */
const _GRAM = 4;

/** Below this stride the screen would read about every character: the RegExps do it faster. */
const _MIN_STRIDE = 4;

/**
 * The screen for these forms, or undefined when it would not pay (short
 * forms) or could be wrong: only ASCII letters are folded, so a form with
 * any other character than ASCII is left to the RegExps alone.
 */
function _screenOf(forms: readonly string[]): _Screen | undefined {
  if (forms.length === 0) return undefined;
  let length = Infinity;
  for (const form of forms) {
    // deno-lint-ignore no-control-regex
    if (/[^\x00-\x7f]/.test(form)) return undefined;
    length = Math.min(length, form.length);
  }
  const stride = length - _GRAM + 1;
  if (stride < _MIN_STRIDE) return undefined;
  const bits = new Uint32Array(2048);
  for (const form of forms) {
    for (let i = 0; i + _GRAM <= form.length; i++) {
      const h = _window(form, i);
      bits[h >>> 5] |= 1 << (h & 31);
    }
  }
  return { stride, length, bits };
}

/**
 * Whether `text` may carry a form (see {@link _Screen}). A window with a
 * character beyond ASCII always passes: what matches it is not folded here.
 */
function _mayCarry(text: string, screen: _Screen): boolean {
  const last = text.length - _GRAM;
  if (text.length < screen.length) return false;
  const bits = screen.bits;
  for (let i = 0; i <= last; i += screen.stride) {
    const h = _window(text, i);
    if (h < 0 || (bits[h >>> 5] & (1 << (h & 31))) !== 0) return true;
  }
  return false;
}

/**
 * A 16-bit hash of the `_GRAM` characters at `i`, or -1 when one of them is
 * beyond ASCII. Each code has its 0x20 bit set first: that folds ASCII
 * letters to lower case (what the `i` flag matches alike), and merely
 * merges a few more characters, which can only make the screen say "maybe".
 */
function _window(text: string, i: number): number {
  const c0 = text.charCodeAt(i);
  const c1 = text.charCodeAt(i + 1);
  const c2 = text.charCodeAt(i + 2);
  const c3 = text.charCodeAt(i + 3);
  if ((c0 | c1 | c2 | c3) > 0x7f) return -1;
  const x = ((c0 | 0x20) << 21) | ((c1 | 0x20) << 14) | ((c2 | 0x20) << 7) | (c3 | 0x20);
  return (x ^ (x >>> 13)) & 0xffff;
}

function _hasPlain(text: string, forms: readonly (readonly [string, string])[]): boolean {
  const lower = text.toLowerCase();
  return forms.some(([form, folded]) => text.includes(form) || lower.includes(folded));
}

function _maskPlain(text: string, forms: readonly (readonly [string, string])[]): string {
  let out = text;
  for (const [form, folded] of forms) {
    out = out.replaceAll(form, MASK);
    const lower = out.toLowerCase();
    // Case-insensitive only where lower-casing keeps every index in place.
    if (lower.length !== out.length) {
      out = out.replaceAll(folded, MASK);
      continue;
    }
    let masked = "";
    let from = 0;
    for (let at = lower.indexOf(folded); at !== -1; at = lower.indexOf(folded, from)) {
      masked += out.slice(from, at) + MASK;
      from = at + folded.length;
    }
    out = masked + out.slice(from);
  }
  return out;
}

/**
 * Whether `text` carries any form of any secret (see {@link secretForms}).
 * Pass compiled forms when checking many texts against the same secrets.
 */
export function carriesSecret(text: string, secrets: readonly string[] | SecretForms): boolean {
  const forms = _formsOf(secrets);
  return forms.size > 0 && forms.test(text);
}

/**
 * Replaces every form of each secret in `text` (itself, URL-encoded, and for
 * secrets of 6 characters or more their case variants, base64, hex and
 * reversed forms: see {@link secretForms}) with {@link MASK}. An array of
 * secrets is compiled on first use and reused for the same secrets after.
 */
export function redact(text: string, secrets: readonly string[] | SecretForms): string {
  if (Array.isArray(secrets) && secrets.length === 0) return text;
  const forms = _formsOf(secrets);
  return forms.size > 0 ? forms.mask(text) : text;
}

function _formsOf(secrets: readonly string[] | SecretForms): SecretForms {
  return Array.isArray(secrets) ? secretForms(secrets) : secrets as SecretForms;
}

function _derivedForms(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const forms = [
    secret,
    encodeURIComponent(secret),
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
    Array.from(secret).reverse().join(""),
  ];
  // Base64 at each alignment (`pad` bytes before the secret in its 3-byte group).
  // Characters [start, end) depend on the secret's bits alone, whatever surrounds
  // it; the one after them (and any padding) also on what follows, so the longer
  // tail forms only match where the secret ends the encoded text.
  for (let pad = 0; pad < 3; pad++) {
    const encoded = btoa("\0".repeat(pad) + binary);
    const start = Math.ceil((8 * pad) / 6);
    const end = Math.floor((8 * (pad + bytes.length)) / 6);
    const tail = encoded.slice(start);
    for (const form of [encoded.slice(start, end), tail, tail.replace(/=+$/, "")]) {
      forms.push(form, form.replaceAll("+", "-").replaceAll("/", "_"));
    }
  }
  return forms;
}

function _alternation(forms: Set<string>, flags: string): RegExp {
  const sorted = [...forms].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  return new RegExp(sorted.map(_escapeRegExp).join("|"), flags);
}

function _escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

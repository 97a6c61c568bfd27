/**
 * Making untrusted text inert on a terminal.
 *
 * Names, titles, paths, error messages and log lines that come from a plugin
 * or an upstream server may hold characters that control the terminal that
 * shows them: C0 controls (ESC starts escape sequences that clear the screen
 * or set the window title, CR rewrites the line), DEL, C1 controls (U+009B is
 * a one-character CSI), bidirectional formatting characters (U+202A–U+202E,
 * U+2066–U+2069, and the marks U+200E, U+200F, U+061C) that reorder what is
 * shown, the line and paragraph separators (U+2028, U+2029) and invisible
 * characters (U+200B, U+2060–U+2064, U+FEFF). The functions here
 * render every such character visible instead:
 *
 * | character                   | shown as                    |
 * | --------------------------- | --------------------------- |
 * | tab, LF, CR                 | `\t`, `\n`, `\r`            |
 * | other C0, DEL, C1           | `\xHH`, e.g. `\x1b`, `\x7f` |
 * | bidi, separators, invisible | `\uHHHH`, e.g. `\u202e`     |
 *
 * Backslashes are left alone (a title `a\b` stays `a\b`), so the visible
 * forms are for reading, not for reversing. Every function returns its input
 * unchanged, after a single regex test, when there is nothing to escape.
 *
 * ```ts
 * import { inertJson, inertLine } from "./inert.ts";
 *
 * inertLine("News\x1b]0;pwned\x07"); // "News\\x1b]0;pwned\\x07"
 * JSON.parse(inertJson(JSON.stringify("\u202e"))); // "\u202e" (written as the escape)
 * ```
 *
 * @module
 */

/**
 * Bidirectional formatting characters (ALM, LRM, RLM, embeddings, overrides,
 * isolates), the line and paragraph separators (U+2028, U+2029: a new line
 * to some terminals and viewers) and the invisible ones (zero-width space,
 * word joiner, BOM): each reorders, breaks or hides what is shown. The
 * zero-width joiners (U+200C, U+200D) are left: Persian and Indic text and
 * emoji sequences need them.
 */
const _BIDI =
  "\\u061c\\u200b\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff";

/** C0 controls except tab (U+0009) and newline (U+000A), DEL, C1 controls, bidi. */
const _BUT_LAYOUT = `\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${_BIDI}`;

/** The characters that can control a terminal or reorder what it shows. */
const _UNSAFE = new RegExp(`[\\t\\n${_BUT_LAYOUT}]`);

/** {@link _UNSAFE}, for replacing. */
const _UNSAFE_ALL = new RegExp(_UNSAFE.source, "g");

/** {@link _UNSAFE} without tab and newline, which multi-line output keeps. */
const _UNSAFE_BUT_LAYOUT = new RegExp(`[${_BUT_LAYOUT}]`);

/** {@link _UNSAFE_BUT_LAYOUT}, for replacing. */
const _UNSAFE_BUT_LAYOUT_ALL = new RegExp(_UNSAFE_BUT_LAYOUT.source, "g");

/** A plain SGR (color) sequence, or one unsafe character that is not tab or newline. */
const _SGR_OR_UNSAFE = new RegExp(`\\x1b\\[[0-9;]*m|[${_BUT_LAYOUT}]`, "g");

/** Runs of line breaks and tabs, which one-line fields collapse. */
const _LINE_BREAKS = /[\t\n\r]+/g;

const _SHORT: Readonly<Record<string, string>> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

function _visible(char: string): string {
  const short = _SHORT[char];
  if (short !== undefined) return short;
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

function _jsonEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * Renders every control and bidi formatting character of `text` visible,
 * tab and newline included: the full conversion for untrusted text that
 * must not even move the cursor (`\x1b[31m` shows as the text `\x1b[31m`).
 */
export function inertText(text: string): string {
  return _UNSAFE.test(text) ? text.replace(_UNSAFE_ALL, _visible) : text;
}

/**
 * The form of untrusted `text` for a one-line field (a table cell, a
 * `key: value` value, a log line): runs of tabs, newlines and carriage
 * returns become one space, so the text cannot start a new visual line, and
 * every other control or bidi character is rendered visible as by
 * {@link inertText}.
 */
export function inertLine(text: string): string {
  return _UNSAFE.test(text) ? text.replace(_LINE_BREAKS, " ").replace(_UNSAFE_ALL, _visible) : text;
}

/** Options for {@link inertOutput}. */
export interface InertOutputOptions {
  /**
   * Keep plain SGR sequences (`ESC [ digits and ; m`: colors, bold) because
   * the CLI's own styling is on. Default false: they are rendered visible too.
   */
  color?: boolean;
}

/**
 * The last line of defence for text written to the terminal: renders every
 * control and bidi formatting character visible except the tab and newline
 * of multi-line output, and keeps plain SGR color sequences only when
 * `options.color` is set. Cursor movement, screen clearing, window titles,
 * CR and C1 controls are thus never passed on.
 */
export function inertOutput(text: string, options: InertOutputOptions = {}): string {
  if (!_UNSAFE_BUT_LAYOUT.test(text)) return text;
  if (!options.color) return text.replace(_UNSAFE_BUT_LAYOUT_ALL, _visible);
  return text.replace(
    _SGR_OR_UNSAFE,
    (match) => match.length > 1 ? match : _visible(match),
  );
}

/**
 * Escapes the raw control and bidi formatting characters of a JSON text
 * (such as `JSON.stringify` writes) as `\uXXXX`, except tab and newline.
 * In a valid JSON text those characters can only stand inside strings
 * (`JSON.stringify` already escapes C0 there), so the result parses back
 * to exactly the same value, and a terminal showing it is not controlled by
 * DEL, C1 or bidi characters. Any other text keeps its layout and is made
 * inert the same way.
 */
export function inertJson(json: string): string {
  return _UNSAFE_BUT_LAYOUT.test(json) ? json.replace(_UNSAFE_BUT_LAYOUT_ALL, _jsonEscape) : json;
}

/**
 * Human and machine output: aligned tables, optional colors, one JSON
 * document per command, and the error shapes.
 *
 * Colors are used only when stdout is a terminal, `NO_COLOR` is unset and
 * `--json` is off (the caller decides once and passes `color`).
 *
 * Text from plugins and upstream servers is untrusted: table cells, field
 * values and error lines render its control and bidi characters visible
 * (see `inert.ts`), `writeJson` escapes them, and {@link inertWriter} is the
 * filter every write to stdout and stderr passes through.
 *
 * @module
 */

import { RetrovueError, toRetrovueError } from "../core/errors.ts";
import type { CommandContext, Writer } from "./command.ts";
import { inertJson, inertLine, inertOutput, inertText } from "./inert.ts";

/** ANSI styling that is a no-op when colors are off. */
export interface Style {
  /** Bold. */
  bold(text: string): string;
  /** Dim/grey. */
  dim(text: string): string;
  /** Green (good). */
  green(text: string): string;
  /** Yellow (attention). */
  yellow(text: string): string;
  /** Red (bad). */
  red(text: string): string;
}

/** Styling for `color` (true: ANSI codes; false: text unchanged). */
export function style(color: boolean): Style {
  const wrap = (open: number, close: number) => (text: string) =>
    color ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    red: wrap(31, 39),
  };
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** The printed width of `text` (ANSI codes do not count). */
export function visibleWidth(text: string): number {
  return [...text.replace(ANSI, "")].length;
}

/** Options for {@link formatTable}. */
export interface TableOptions {
  /** Whether to embolden the header row. */
  color?: boolean;
  /** Columns (by index) to right-align, e.g. counts. */
  alignRight?: number[];
  /**
   * The widest a line may be (the terminal's width, `CommandContext.width`);
   * `null` or missing: no limit. Long cells are cut with `…` until the table
   * fits, widest column first, never below {@link MIN_COLUMN_WIDTH}.
   */
  width?: number | null;
}

/** The narrowest a column is cut to by {@link formatTable}'s `width`. */
export const MIN_COLUMN_WIDTH = 8;

/**
 * Formats rows as an aligned table (two spaces between columns, header
 * first, no trailing spaces). Cells are single-line and inert: tabs and line
 * breaks become one space and other control characters show as `\xHH` (see
 * {@link inertLine}). With `color`, a cell that is exactly one {@link style}
 * wrap keeps that styling (its text is made inert); no other escape sequence
 * in a cell survives.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const color = options.color ?? false;
  const clean = (cell: string) => _inertCell(cell, color);
  let all = [headers.map(clean), ...rows.map((r) => r.map(clean))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => visibleWidth(r[i] ?? ""))));
  if (options.width) {
    _fitWidths(widths, options.width);
    all = all.map((r) => r.map((cell, i) => _cut(cell, widths[i])));
  }
  const right = new Set(options.alignRight ?? []);
  const s = style(color);
  const line = (cells: readonly string[], isHeader: boolean) =>
    cells.map((cell, i) => {
      const pad = " ".repeat(widths[i] - visibleWidth(cell));
      const text = isHeader ? s.bold(cell) : cell;
      if (i === cells.length - 1 && !right.has(i)) return text;
      return right.has(i) ? pad + text : text + pad;
    }).join("  ").trimEnd();
  return all.map((r, i) => line(r, i === 0)).join("\n") + "\n";
}

/** Narrows the widest columns one character at a time until the line fits `width`. */
function _fitWidths(widths: number[], width: number): void {
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (widths[i] > MIN_COLUMN_WIDTH && (widest < 0 || widths[i] > widths[widest])) widest = i;
    }
    if (widest < 0) return; // Every column is as narrow as it goes.
    widths[widest]--;
  }
}

/** `cell` cut to `width` visible characters, ending in `…` when cut (styling is dropped). */
function _cut(cell: string, width: number): string {
  if (visibleWidth(cell) <= width) return cell;
  return [...cell.replace(ANSI, "")].slice(0, width - 1).join("") + "…";
}

/** One {@link style} wrap: the open code, the text, the matching close code. */
// deno-lint-ignore no-control-regex
const _STYLED = /^\x1b\[(1|2|31|32|33)m([^]*)\x1b\[(22|39)m$/;

function _inertCell(cell: string, color: boolean): string {
  const styled = color ? _STYLED.exec(cell) : null;
  if (styled && (styled[3] === "22") === (styled[1] === "1" || styled[1] === "2")) {
    return `\x1b[${styled[1]}m${inertLine(styled[2])}\x1b[${styled[3]}m`;
  }
  return inertLine(cell);
}

/**
 * Formats `key: value` lines with the keys aligned. Keys and values are
 * single-line and inert (see {@link inertLine}): no escape sequence survives.
 */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const lines = fields.map(([k, v]) => [inertLine(k) + ":", inertLine(v)] as const);
  const width = Math.max(0, ...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n") + "\n";
}

/**
 * Writes one JSON document (pretty-printed, newline-terminated) to stdout.
 * Strings keep their exact values; DEL, C1 and bidi characters in them are
 * written as `\uXXXX` escapes (see {@link inertJson}).
 */
export function writeJson(ctx: Pick<CommandContext, "stdout">, document: unknown): void {
  ctx.stdout.write(inertJson(JSON.stringify(document, null, 2)) + "\n");
}

/** The `--json` error document. */
export interface JsonError {
  /** Always `"error"`. */
  status: "error";
  /** The stable code and a one-line message. */
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** The `--json` shape of an error. */
export function jsonError(error: unknown): JsonError {
  const e = toRetrovueError(error);
  const out: JsonError = { status: "error", error: { code: e.code, message: oneLine(e.message) } };
  if (e.details && e.code !== "INTERNAL") out.error.details = e.details;
  return out;
}

/**
 * The human one-line form of an error: `Error: …`. The message may quote
 * upstream or operator text, so it is collapsed to one line and made inert
 * (see {@link inertText}).
 */
export function errorLine(error: unknown): string {
  const e = toRetrovueError(error);
  return `Error: ${inertText(oneLine(e.message))}`;
}

/** Collapses whitespace so a message stays on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * A writer that replaces every registered secret (and its URL-encoded form)
 * with `***` before passing text on. `secrets` is read at each write, so
 * secrets learnt later are still scrubbed.
 */
export function redactingWriter(
  inner: Writer,
  scrub: (text: string) => string,
): Writer {
  return { write: (text: string) => inner.write(scrub(text)) };
}

/** Options for {@link inertWriter}. */
export interface InertWriterOptions {
  /** The text is a `--json` document: escape as JSON (see {@link inertJson}). */
  json?: boolean;
  /** The CLI's own colors are on: keep plain SGR sequences (see {@link inertOutput}). */
  color?: boolean;
}

/**
 * A writer that makes every control and bidi character of what passes
 * through inert before passing it on: `\uXXXX` escapes for a JSON document,
 * else visible `\xHH` forms except tab, newline and (with `color`) plain SGR
 * colors. Whatever a command forgets to clean up can then still not clear
 * the screen, set the window title or rewrite a line.
 */
export function inertWriter(inner: Writer, options: InertWriterOptions = {}): Writer {
  if (options.json) return { write: (text: string) => inner.write(inertJson(text)) };
  const color = { color: options.color ?? false };
  return { write: (text: string) => inner.write(inertOutput(text, color)) };
}

/** Whether an error is a `RetrovueError` with one of `codes`. */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof RetrovueError && codes.includes(error.code);
}

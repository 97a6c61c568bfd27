/**
 * Human and machine output: aligned tables, optional colors, one JSON
 * document per command, and the error shapes.
 *
 * Colors are used only when stdout is a terminal, `NO_COLOR` is unset and
 * `--json` is off (the caller decides once and passes `color`).
 *
 * @module
 */

import { RetrovueError, toRetrovueError } from "../core/errors.ts";
import type { CommandContext, Writer } from "./command.ts";

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
}

/**
 * Formats rows as an aligned table (two spaces between columns, header
 * first, no trailing spaces). Cells are single-line: newlines become spaces.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const clean = (cell: string) => cell.replace(/[\r\n\t]+/g, " ");
  const all = [headers.map(clean), ...rows.map((r) => r.map(clean))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => visibleWidth(r[i] ?? ""))));
  const right = new Set(options.alignRight ?? []);
  const s = style(options.color ?? false);
  const line = (cells: readonly string[], isHeader: boolean) =>
    cells.map((cell, i) => {
      const pad = " ".repeat(widths[i] - visibleWidth(cell));
      const text = isHeader ? s.bold(cell) : cell;
      if (i === cells.length - 1 && !right.has(i)) return text;
      return right.has(i) ? pad + text : text + pad;
    }).join("  ").trimEnd();
  return all.map((r, i) => line(r, i === 0)).join("\n") + "\n";
}

/** Formats `key: value` lines with the keys aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...fields.map(([k]) => k.length + 1));
  return fields.map(([k, v]) => `${(k + ":").padEnd(width)}  ${v.replace(/[\r\n]+/g, " ")}`)
    .join("\n") + "\n";
}

/** Writes one JSON document (pretty-printed, newline-terminated) to stdout. */
export function writeJson(ctx: Pick<CommandContext, "stdout">, document: unknown): void {
  ctx.stdout.write(JSON.stringify(document, null, 2) + "\n");
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

/** The human one-line form of an error: `Error: …`. */
export function errorLine(error: unknown): string {
  const e = toRetrovueError(error);
  return `Error: ${oneLine(e.message)}`;
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

/** Whether an error is a `RetrovueError` with one of `codes`. */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof RetrovueError && codes.includes(error.code);
}

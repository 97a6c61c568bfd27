/**
 * Name parser conformance: runs `importers/_naming.ts` over the public test
 * vectors of other media tools in `../shared/reference/naming/*.jsonl`
 * (read in place, never copied) and prints the pass rate per file and per
 * kind. Exits non-zero when the active Jellyfin episode + movie pass rate
 * drops below {@link THRESHOLD}. When the folder is absent it says so and
 * exits 0. `--verbose` lists every failing case.
 *
 * Run: `deno task conformance` (`--allow-read` only).
 *
 * @module
 */

import { join } from "node:path";
import {
  cleanTitle,
  type ExtraType,
  parseMediaPath,
  parseSeasonFolder,
  seriesTitleFromPath,
} from "../../importers/_naming.ts";

/** The minimum pass rate over active Jellyfin episode and movie cases. */
export const THRESHOLD = 0.95;

/** One test vector, as stored in the reference files. */
export interface NamingCase {
  path: string;
  expect: Record<string, unknown>;
  status?: string;
  function?: string;
  origin?: string;
  parent_path?: string;
  library_root?: string;
  is_directory?: boolean;
}

/** The outcome of one case. */
export interface CaseResult {
  /** Whether every compared field matched. */
  pass: boolean;
  /** `field: expected … got …` for each mismatch. */
  mismatches: string[];
}

const _JELLYFIN_EXTRA: Record<ExtraType, string> = {
  trailer: "Trailer",
  sample: "Sample",
  scene: "Scene",
  clip: "Clip",
  deleted_scene: "DeletedScene",
  interview: "Interview",
  behind_the_scenes: "BehindTheScenes",
  featurette: "Featurette",
  short: "Short",
  theme_song: "ThemeSong",
  theme_video: "ThemeVideo",
  other: "Unknown",
};

function _loose(s: string): string {
  return s.normalize("NFC").toLowerCase().replace(/[\s._\-–:,'’!?()\[\]]+/g, " ").trim();
}

function _titleMatches(expected: string, got: string, year: number | null): boolean {
  const e = _loose(expected);
  return e === _loose(got) || (year !== null && e === _loose(`${got} (${year})`));
}

function _lastSegment(path: string | undefined): string | undefined {
  return path?.split(/[\\/]+/).filter((s) => s !== "").at(-1);
}

/** Evaluates one case against the parser, comparing only the fields the parser models. */
export function evaluateCase(c: NamingCase): CaseResult {
  const e = c.expect;
  const fn = c.function ?? "";
  const got: Record<string, unknown> = {};
  let year: number | null = null;
  switch (e.kind) {
    case "series":
      got.title = seriesTitleFromPath(c.path).title;
      break;
    case "season_folder":
      got.season = parseSeasonFolder(_lastSegment(c.path) ?? "", {
        parentName: _lastSegment(c.parent_path),
        specialAliases: fn.includes("supportSpecialAliases:true"),
        numericFolders: fn.includes("supportNumericSeasonFolders:true"),
      });
      break;
    case "video":
      got.title = cleanTitle(c.path);
      break;
    case "extra": {
      const p = parseMediaPath(c.path, { libraryRoot: c.library_root });
      got.extra_type = p.extraType === null ? null : _JELLYFIN_EXTRA[p.extraType];
      break;
    }
    default: {
      const fromJellyfin = c.origin?.startsWith("jellyfin/") ?? false;
      const hint = !fromJellyfin ? "auto" : e.kind === "episode" ? "episode" : "movie";
      const p = parseMediaPath(c.path, {
        hint,
        isDirectory: c.is_directory ?? fn === "VideoResolver.CleanDateTime(Path.GetFileName(path))",
        absoluteEpisodes: fn.includes("supportsAbsoluteNumbers:true"),
      });
      year = p.year;
      Object.assign(got, {
        kind: p.kind,
        title: p.title,
        year: p.year,
        season: p.season,
        episode: p.episode,
        episode_end: p.episodeEnd,
        air_date: p.airDate,
        episode_title: p.episodeTitle,
        part: p.part,
        extra_type: p.extraType === null ? null : _JELLYFIN_EXTRA[p.extraType],
      });
    }
  }
  const mismatches: string[] = [];
  for (const [field, expected] of Object.entries(e)) {
    if (!(field in got)) continue;
    if (field === "kind" && !(e.kind === "movie" || e.kind === "episode")) continue;
    let actual = got[field];
    let want = expected;
    if (field === "episode" && Array.isArray(expected)) {
      want = expected[0];
      if (!("episode_end" in e) && got.episode_end !== expected.at(-1)) {
        mismatches.push(`episode_end: expected ${expected.at(-1)} got ${got.episode_end}`);
      }
    }
    if (field === "part" && Array.isArray(expected)) want = expected[0];
    if (field === "year" && year === null && got.kind === "episode" && expected !== null) {
      actual = null;
    }
    const ok = (field === "title" || field === "episode_title") &&
        typeof want === "string" && typeof actual === "string"
      ? (field === "title" ? _titleMatches(want, actual, year) : _loose(want) === _loose(actual))
      : JSON.stringify(want ?? null) === JSON.stringify(actual ?? null);
    if (!ok) {
      mismatches.push(`${field}: expected ${JSON.stringify(want)} got ${JSON.stringify(actual)}`);
    }
  }
  return { pass: mismatches.length === 0, mismatches };
}

/** Per-group counts. */
interface _Tally {
  pass: number;
  total: number;
}

function _pct(t: _Tally): string {
  return t.total === 0 ? "n/a" : `${((100 * t.pass) / t.total).toFixed(1)}% (${t.pass}/${t.total})`;
}

/** Runs the conformance check; returns the process exit code. */
export function runNamingConformance(options: { dir: string; verbose?: boolean }): number {
  let files: string[];
  try {
    files = [...Deno.readDirSync(options.dir)]
      .filter((e) => e.isFile && e.name.endsWith(".jsonl"))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      console.log(
        `naming conformance: SKIPPED, reference folder not found: ${options.dir} (expected at ../shared/reference/naming relative to the repo)`,
      );
      return 0;
    }
    throw err;
  }
  const gate: _Tally = { pass: 0, total: 0 };
  for (const file of files) {
    const lines = Deno.readTextFileSync(join(options.dir, file)).split("\n").filter((l) =>
      l.trim()
    );
    const byKind = new Map<string, { active: _Tally; todo: _Tally }>();
    const all: _Tally = { pass: 0, total: 0 };
    const failures: string[] = [];
    for (const line of lines) {
      const c = JSON.parse(line) as NamingCase;
      const kind = String(c.expect.kind);
      const todo = c.status === "todo_in_origin";
      const r = evaluateCase(c);
      const slot = byKind.get(kind) ??
        { active: { pass: 0, total: 0 }, todo: { pass: 0, total: 0 } };
      byKind.set(kind, slot);
      const tally = todo ? slot.todo : slot.active;
      tally.total++;
      if (r.pass) tally.pass++;
      if (!todo) {
        all.total++;
        if (r.pass) all.pass++;
        if (file.startsWith("jellyfin") && (kind === "episode" || kind === "movie")) {
          gate.total++;
          if (r.pass) gate.pass++;
        }
        if (!r.pass) {
          failures.push(`  FAIL ${JSON.stringify(c.path)} [${kind}] ${r.mismatches.join("; ")}`);
        }
      }
    }
    console.log(`${file}: ${_pct(all)} of active cases`);
    for (const [kind, t] of [...byKind].sort(([a], [b]) => a.localeCompare(b))) {
      const todo = t.todo.total ? `, todo_in_origin ${_pct(t.todo)}` : "";
      console.log(`  ${kind.padEnd(14)} ${_pct(t.active)}${todo}`);
    }
    if (options.verbose) { for (const f of failures) console.log(f); }
  }
  const rate = gate.total ? gate.pass / gate.total : 1;
  const verdict = rate >= THRESHOLD ? "ok" : "FAILED";
  console.log(
    `gate: Jellyfin active episode+movie ${_pct(gate)}, threshold ${
      (THRESHOLD * 100).toFixed(0)
    }%: ${verdict}`,
  );
  return rate >= THRESHOLD ? 0 : 1;
}

if (import.meta.main) {
  const dir = join(import.meta.dirname ?? ".", "..", "..", "..", "shared", "reference", "naming");
  Deno.exit(runNamingConformance({ dir, verbose: Deno.args.includes("--verbose") }));
}

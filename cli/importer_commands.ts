/**
 * `importer new` and `importer check`: the command line over the plugin
 * author's kit (`kit/mod.ts`), which does the work.
 *
 * - `importer new <type_id>` writes a working skeleton importer and its test
 *   into a plugin folder.
 * - `importer check <module> [importer flags…]` loads a module the way the
 *   registry does, runs it in its sandbox against the live upstream the flags
 *   describe, and runs the contributor checklist (see {@link runImporterCheck}).
 *
 * `--json` shapes are in `docs/cli.md`.
 *
 * @module
 */

import { basename, relative, resolve } from "node:path";
import { secretValues, validateConfig } from "../core/config.ts";
import type { CollectionKind } from "../core/contract.ts";
import { RetrovueError } from "../core/errors.ts";
import {
  describeIsolation,
  isPluginFileName,
  limitsFromEnv,
  loadManifests,
} from "../registry/mod.ts";
import {
  type CheckReport,
  checkTypeId,
  CONTRACT_SPECIFIER,
  DEFAULT_PLUGIN_DIR,
  FILTER_ORDER,
  isBuiltinImporter,
  loadForCheck,
  runImporterCheck,
  writeSkeleton,
  WRONG_CREDENTIAL,
} from "../kit/mod.ts";
import { type Command, type CommandContext, parseCommandArgs } from "./command.ts";
import { inertLine } from "./inert.ts";
import { style, writeJson } from "./output.ts";
import {
  isolationJson,
  paramHelp,
  parseTypeArgs,
  readSecretInputs,
  startingPlugin,
} from "./views.ts";

const newCommand: Command = {
  path: ["importer", "new"],
  summary: "Write a skeleton importer and its test into a plugin folder",
  help: `Usage: retrovue importer new <type_id> [--dir DIR] [--force] [--json]

Writes <type_id>.ts, a working skeleton importer serving a small demo catalog,
and <type_id>_test.ts, its test, into DIR (default: ./${DEFAULT_PLUGIN_DIR}, created if
missing), with a deno.json whose import map names the contract
("${CONTRACT_SPECIFIER}", this installation's core/contract.ts): run 'deno check'
and 'deno test' from DIR, wherever it lives. The skeleton passes 'importer check'
as written; replace its demo data with calls to your upstream (see
docs/importers.md). Use the folder with RETROVUE_PLUGIN_PATH=DIR.

  --dir DIR   plugin folder to write into (default: ./${DEFAULT_PLUGIN_DIR})
  --force     overwrite existing files

The type id must match [a-z][a-z0-9_-]* (at most 40 characters), must not
end in '_test' and must not be a built-in importer's (plex, filesystem, …).
Existing files are never overwritten without --force (exit 1, CONFLICT); an
existing deno.json only gains the contract's mapping.
`,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, {
      dir: { type: "string" },
      force: { type: "boolean" },
    }, { minPositionals: 1, maxPositionals: 1, positionalName: "a <type_id>" });
    checkTypeId(positionals[0]);
    const builtin = (await ctx.loadRegistry()).types.find((t) =>
      t.typeId === positionals[0] && isBuiltinImporter(t.file)
    );
    if (builtin) {
      throw new RetrovueError(
        "CONFLICT",
        `'${positionals[0]}' is the type id of a built-in importer (${
          basename(builtin.file)
        }); choose another`,
      );
    }
    const files = writeSkeleton(positionals[0], {
      dir: resolve(ctx.cwd, values.dir ?? DEFAULT_PLUGIN_DIR),
      force: values.force ?? false,
    });
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        typeId: files.typeId,
        module: files.module,
        test: files.test,
        config: files.config,
      });
    } else {
      ctx.stdout.write(
        `Wrote ${files.module}\nWrote ${files.test}\nWrote ${files.config}\n` +
          `Next: retrovue importer check ${relative(ctx.cwd, files.module) || files.module}\n`,
      );
    }
    return 0;
  },
};

function _resolveModule(ctx: CommandContext, arg: string | undefined): string {
  if (arg === undefined || arg.startsWith("-")) {
    throw new RetrovueError(
      "USAGE",
      "'importer check' needs a <module> first; see 'importer check --help'",
    );
  }
  const path = resolve(ctx.cwd, arg);
  let real: string;
  try {
    real = Deno.realPathSync(path);
    if (!Deno.statSync(real).isFile) throw new Error("not a file");
  } catch {
    throw new RetrovueError("NOT_FOUND", `no importer module '${arg}'`);
  }
  if (!isPluginFileName(basename(real))) {
    const module = /\.(ts|js|mts|mjs)$/.test(real);
    throw new RetrovueError(
      "USAGE",
      module
        ? `'${arg}' is not a plugin module name: the registry skips files starting with '_' or ` +
          "'.' and tests ('*_test.ts')"
        : `'${arg}' is not a plugin module: one is a .ts, .js, .mts or .mjs file`,
    );
  }
  return real;
}

function _formatReport(report: CheckReport, color: boolean): string {
  const s = style(color);
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = [
    `importer check: ${inertLine(report.typeId ?? "?")} (${inertLine(report.module)})`,
    `isolation: ${inertLine(describeIsolation(report.isolation))}`,
  ];
  for (const c of report.checks) {
    const mark = c.status === "pass"
      ? s.green("pass")
      : c.status === "fail"
      ? s.red("FAIL")
      : c.status === "lint"
      ? s.yellow("lint")
      : s.dim("skip");
    // Details quote the plugin's names and messages: inert, like every upstream value.
    lines.push(`  ${mark}  ${c.name.padEnd(width)}  ${inertLine(c.detail)}`);
  }
  const failed = report.checks.filter((c) => c.status === "fail").length;
  const skipped = report.checks.filter((c) => c.status === "skip").length;
  const linted = report.checks.filter((c) => c.status === "lint").length;
  const lintText = linted ? `, ${linted} with lint to look at` : "";
  lines.push(
    failed
      ? s.red(`${failed} of ${report.checks.length} checks failed${lintText}.`)
      : s.green(`All checks passed (${skipped} skipped${lintText}).`),
  );
  return lines.join("\n") + "\n";
}

const CHECK_HELP = `Usage: retrovue importer check <module> [IMPORTER OPTIONS…] [--collection ID]
       [--timeout SECONDS] [--json]

Loads <module> (a .ts file) the way the registry does, starts it in its
sandbox with the importer's own options (e.g. --file PATH for json-file,
--root PATH for filesystem; validated like 'source add'), runs it against
the live upstream they describe and prints pass/fail/skip per item:

  manifest             the module loads and its manifest is valid
  unique_type_id       no built-in importer, nor one in RETROVUE_PLUGIN_PATH, claims its type id
  validate_connection  validateConnection succeeds
  auth_failed          (importers with a secret option) a wrong credential raises AUTH_FAILED
  list_collections     listCollections returns valid collections, at least one ingestible
  fetch_assets         fetchAssets returns valid assets with unique ids, for one collection
                       of each kind (or the --collection one)
  filter_title         each filter declared for the collection's kind, with values taken
  filter_season        from the fetched assets, returns exactly the assets in that scope;
  filter_episode       a filter not declared is reported as "not pushed down (host filters)"
  determinism          two runs give identical collections and assets, in the same order
  sandbox              no call was denied by the sandbox (a PERMISSION_DENIED error, or a
                       warning or console line mentioning a denial, fails it)
  dry_run              a dry-run ingest into a temporary database wrote nothing

Each item is pass, FAIL, skip, or lint: it works but something is doubtful
(a param's min/max on a non-integer, a collection not ingestible without a
reason, validateConnection returning nothing, asset fields the host drops).
A lint does not fail the check. A manifest the host would refuse (a reserved
flag such as --name, a grant on the wrong kind, a default of the wrong type,
min > max) fails 'manifest'.

  --collection ID      check only this collection (default: the first ingestible
                       collection of each kind)
  --timeout SECONDS    deadline per call (default 30)

Exit 0 only when no item failed (skipped and lint items do not fail), 1 otherwise.
Give <module> first, then its options; '<module> --help' lists them.
`;

const checkCommand: Command = {
  path: ["importer", "check"],
  summary: "Run the contributor checklist against an importer module and a live upstream",
  async help(ctx) {
    const arg = ctx.args[0];
    if (arg === undefined || arg.startsWith("-")) return CHECK_HELP;
    let file: string;
    try {
      file = _resolveModule(ctx, arg);
    } catch {
      return CHECK_HELP;
    }
    const isolation = await ctx.isolation().catch(() => undefined);
    const [info] = await loadManifests([file], {
      timeoutMs: 15_000,
      isolation: isolation?.level,
    });
    if (info.status === "broken") return `${CHECK_HELP}\n${arg}: broken: ${info.reason}\n`;
    const kinds: CollectionKind[] = ["movies", "shows", "mixed", "other"];
    const filters = kinds.map((k) => {
      const declared = info.manifest.capabilities.filters[k] ?? [];
      const host = FILTER_ORDER.filter((f) => !declared.includes(f));
      return `  ${k}: pushed down: ${declared.join(", ") || "none"}` +
        (host.length ? `; not pushed down (host filters): ${host.join(", ")}` : "");
    });
    return `${CHECK_HELP}\nOptions of ${info.typeId} (${arg}):\n${
      paramHelp(info.manifest.params)
    }\nFilters of ${info.typeId}:\n${filters.join("\n")}\n`;
  },
  async run(ctx) {
    const file = _resolveModule(ctx, ctx.args[0]);
    const isolation = await ctx.isolation();
    const limits = limitsFromEnv(ctx.env);
    const { info, others } = await loadForCheck(file, { env: ctx.env, isolation, cwd: ctx.cwd });
    if (info.status === "broken") {
      // The options cannot be checked without a manifest: report why it did not load.
      return _finish(ctx, await runImporterCheck({ info, others, config: {}, isolation }));
    }
    const params = info.manifest.params;
    const { values, raw: given, secretFiles, secretEnvs } = parseTypeArgs(
      { args: ctx.args.slice(1), path: ctx.path },
      { collection: { type: "string" }, timeout: { type: "string" } },
      { params },
    );
    const raw = await readSecretInputs(ctx, { params, raw: given, secretFiles, secretEnvs });
    let timeoutMs = 30_000;
    if (values.timeout !== undefined) {
      const seconds = Number(values.timeout);
      if (!Number.isFinite(seconds) || seconds <= 0) {
        throw new RetrovueError("USAGE", "--timeout needs a positive number of seconds");
      }
      timeoutMs = Math.round(seconds * 1000);
    }
    const config = validateConfig(params, raw, { cwd: ctx.cwd });
    ctx.addSecrets([...secretValues(params, config), WRONG_CREDENTIAL]);
    await startingPlugin(ctx, { typeId: info.typeId, builtin: isBuiltinImporter(info.file) });
    return _finish(
      ctx,
      await runImporterCheck({
        info,
        others,
        config,
        isolation,
        limits,
        collection: values.collection,
        timeoutMs,
        signal: ctx.signal,
      }),
    );
  },
};

function _finish(ctx: CommandContext, report: CheckReport): Promise<number> {
  if (ctx.json) writeJson(ctx, { ...report, isolation: isolationJson(report.isolation) });
  else ctx.stdout.write(_formatReport(report, ctx.color));
  return Promise.resolve(report.status === "pass" ? 0 : 1);
}

/** The `importer …` commands. */
export const commands: Command[] = [newCommand, checkCommand];

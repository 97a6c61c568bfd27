/**
 * Writing a plugin folder for `importer new`: the type id's checks, the
 * skeleton module and test, and the folder's `deno.json`.
 *
 * @module
 */

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { RetrovueError } from "../core/errors.ts";
import { manifestSchema } from "../core/schemas.ts";
import { isPluginFileName } from "../registry/mod.ts";
import {
  CONTRACT_SPECIFIER,
  ENRICHER_CONTRACT_SPECIFIER,
  skeletonModule,
  skeletonTest,
} from "./_skeleton_templates.ts";

/** Where `importer new` writes by default. */
export const DEFAULT_PLUGIN_DIR = "plugins";

/** Where {@link CONTRACT_SPECIFIER} points: this checkout's contract. */
const CONTRACT_URL = new URL("../core/contract.ts", import.meta.url).href;

/** The mappings a plugin folder's `deno.json` gets: both contracts of this checkout. */
const _MAPPINGS: Readonly<Record<string, string>> = {
  [CONTRACT_SPECIFIER]: CONTRACT_URL,
  [ENRICHER_CONTRACT_SPECIFIER]: new URL("../core/enricher_contract.ts", import.meta.url).href,
};

/** What {@link writeSkeleton} wrote. */
export interface SkeletonFiles {
  /** The importer's type id. */
  typeId: string;
  /** Absolute path of the module. */
  module: string;
  /** Absolute path of its test. */
  test: string;
  /** Absolute path of the folder's `deno.json` (its import map names the contract). */
  config: string;
}

/** Options for {@link writeSkeleton}. */
export interface WriteSkeletonOptions {
  /** The plugin folder (created when missing). */
  dir: string;
  /** Overwrite existing files. */
  force?: boolean;
}

/**
 * Checks a type id the way the manifest schema does, and that its file name
 * would be discovered as a plugin. Throws `USAGE`.
 */
export function checkTypeId(typeId: string): void {
  const parsed = manifestSchema.shape.typeId.safeParse(typeId);
  if (!parsed.success) {
    throw new RetrovueError(
      "USAGE",
      `invalid type id '${typeId}': it must match [a-z][a-z0-9_-]* (at most 40 characters)`,
    );
  }
  if (!isPluginFileName(`${typeId}.ts`)) {
    throw new RetrovueError(
      "USAGE",
      `invalid type id '${typeId}': '${typeId}.ts' would be taken for a test, not a plugin`,
    );
  }
}

/**
 * Writes `<typeId>.ts` (a working skeleton importer) and `<typeId>_test.ts`
 * into `options.dir`, plus a `deno.json` whose import map names the contracts
 * (`@retrovue/contract`, and `@retrovue/enricher-contract` for an enricher
 * written beside it), so the folder type-checks wherever it is moved. An
 * existing `deno.json` gains the mappings it lacks. Refuses
 * (`CONFLICT`) to overwrite the module or test without `force`.
 */
export function writeSkeleton(typeId: string, options: WriteSkeletonOptions): SkeletonFiles {
  checkTypeId(typeId);
  const dir = resolve(options.dir);
  const module = join(dir, `${typeId}.ts`);
  const test = join(dir, `${typeId}_test.ts`);
  const config = join(dir, "deno.json");
  if (!options.force) {
    for (const file of [module, test]) {
      if (existsSync(file)) {
        throw new RetrovueError(
          "CONFLICT",
          `'${file}' already exists; pass --force to overwrite it`,
        );
      }
    }
  }
  const configText = _pluginConfig(config);
  mkdirSync(dir, { recursive: true });
  if (configText !== null) writeFileSync(config, configText);
  writeFileSync(module, skeletonModule(typeId));
  writeFileSync(test, skeletonTest(typeId));
  return { typeId, module, test, config };
}

/**
 * The plugin folder's `deno.json` with the contract mapped, or null when the
 * existing one maps it already. Refuses (`CONFLICT`) to rewrite a file it
 * cannot read as JSON.
 */
function _pluginConfig(file: string): string | null {
  const yourself = `add "imports": ${JSON.stringify(_MAPPINGS)} to it yourself`;
  // Deno reads deno.json before deno.jsonc: writing one beside a folder's deno.jsonc would
  // silently replace its configuration, and a file with comments is not rewritten here.
  const jsonc = join(dirname(file), "deno.jsonc");
  if (!existsSync(file) && existsSync(jsonc)) {
    throw new RetrovueError("CONFLICT", `the folder's configuration is '${jsonc}'; ${yourself}`);
  }
  let doc: { imports?: Record<string, string>; importMap?: unknown } = {};
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Deno.readTextFileSync(file));
    } catch {
      throw new RetrovueError("CONFLICT", `'${file}' is not plain JSON; ${yourself}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new RetrovueError("CONFLICT", `'${file}' is not a JSON object; ${yourself}`);
    }
    doc = parsed as typeof doc;
    const imports: unknown = doc.imports;
    if (
      imports !== undefined && (typeof imports !== "object" || imports === null ||
        Array.isArray(imports))
    ) {
      throw new RetrovueError(
        "CONFLICT",
        `'${file}' has "imports" that is not an object; ${yourself}`,
      );
    }
    const missing = Object.keys(_MAPPINGS).filter((k) => doc.imports?.[k] === undefined);
    if (missing.length === 0) return null;
    if (doc.importMap !== undefined) {
      // With "imports" beside it, Deno would ignore the import map the folder uses.
      throw new RetrovueError(
        "CONFLICT",
        `'${file}' names an import map (${JSON.stringify(doc.importMap)}): add ` +
          `${JSON.stringify(_MAPPINGS)} to its "imports" yourself`,
      );
    }
  }
  // A mapping the folder has already is kept as it is.
  doc.imports = { ..._MAPPINGS, ...doc.imports };
  return JSON.stringify(doc, null, 2) + "\n";
}

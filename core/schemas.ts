/**
 * Host-side validation of everything that comes out of a plugin.
 *
 * Plugin output is untrusted input: manifests, collections and assets are
 * parsed with these schemas before the host acts on them. The shapes mirror
 * the types in `contract.ts`; the `satisfies` checks below keep the two in step.
 *
 * @module
 */

import { z } from "zod";
import type {
  CollectionInfo,
  ConnectionInfo,
  ImportedAsset,
  ParamSpec,
  TechnicalMetadata,
} from "./contract.ts";
import type { EnricherParamSpec, EnrichResult } from "./enricher_contract.ts";

const TYPE_ID = /^[a-z][a-z0-9_-]{0,39}$/;
const PARAM_NAME = /^[a-z][a-z0-9_]{0,39}$/;
const FLAG = /^--[a-z][a-z0-9-]{0,39}$/;
const MAX_TEXT = 4096;

/** A parameter spec in a manifest. */
export const paramSpecSchema = z.object({
  name: z.string().regex(PARAM_NAME, "param names are snake_case"),
  flag: z.string().regex(FLAG, "flags are --kebab-case"),
  kind: z.enum(["string", "url", "path", "integer", "boolean"]),
  description: z.string().max(MAX_TEXT),
  required: z.boolean().optional(),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  multiple: z.boolean().optional(),
  named: z.boolean().optional(),
  secret: z.boolean().optional(),
  grants: z.enum(["net", "read"]).optional(),
  verifiesTls: z.boolean().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
}).strict();

/**
 * Flags no param may declare: the CLI's own options on every command that
 * takes a type's flags (`source add --name …`, `--type`, `--json`, …).
 * A manifest declaring one is refused, not just the `source add` using it.
 */
export const RESERVED_FLAGS: readonly string[] = [
  "--help",
  "--json",
  "--db",
  "--test-db",
  "--output",
  "--type",
  "--name",
  "--discover",
  "--no-validate",
  "--dry-run",
];

/** The fields of a param spec {@link _checkParams} relates to each other. */
interface _ParamFacts {
  name: string;
  flag: string;
  kind: string;
  grants?: string;
  default?: unknown;
  min?: number;
  max?: number;
}

/** Whether `value` fits a param of `kind` (an integer param takes a whole number). */
function _fitsKind(kind: string, value: unknown): boolean {
  if (kind === "integer") return Number.isInteger(value);
  if (kind === "boolean") return typeof value === "boolean";
  return typeof value === "string";
}

/**
 * Param names and flags are unique and not the CLI's own; a grant sits on the
 * kind it grants (`net` on a url, `read` on a path) and has no default; a
 * default fits the param's kind and range; `min` is at most `max`.
 */
function _checkParams(params: readonly _ParamFacts[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  const problem = (p: _ParamFacts, message: string) =>
    ctx.addIssue({ code: "custom", message: `param '${p.name}': ${message}` });
  for (const p of params) {
    for (const key of [`name:${p.name}`, `flag:${p.flag}`]) {
      if (seen.has(key)) ctx.addIssue({ code: "custom", message: `duplicate param ${key}` });
      seen.add(key);
    }
    if (RESERVED_FLAGS.includes(p.flag)) {
      problem(p, `flag '${p.flag}' is one of the CLI's own options; choose another`);
    }
    // A grant comes only from what the operator typed: a default would let the
    // module choose a path or host for its own sandbox.
    if (p.grants !== undefined && p.default !== undefined) {
      problem(
        p,
        "a param with grants may not have a default — the operator must type every path or " +
          "host it grants",
      );
    }
    const grantKind = p.grants === "net" ? "url" : p.grants === "read" ? "path" : undefined;
    if (grantKind !== undefined && p.kind !== grantKind) {
      problem(p, `grants: "${p.grants}" needs kind "${grantKind}", not "${p.kind}"`);
    }
    if (p.default !== undefined && !_fitsKind(p.kind, p.default)) {
      problem(p, `default ${JSON.stringify(p.default)} is not a valid ${p.kind}`);
    }
    if (p.min !== undefined && p.max !== undefined && p.min > p.max) {
      problem(p, `min ${p.min} is larger than max ${p.max}`);
    }
    if (
      typeof p.default === "number" && (p.default < (p.min ?? -Infinity) ||
        p.default > (p.max ?? Infinity))
    ) {
      problem(p, `default ${p.default} lies outside min..max`);
    }
  }
}

const filterNames = z.array(z.enum(["title", "season", "episode"])).max(3);

/** The manifest a plugin worker reports about itself. */
export const manifestSchema = z.object({
  typeId: z.string().regex(TYPE_ID, "typeId must match [a-z][a-z0-9_-]*"),
  displayName: z.string().min(1).max(200),
  description: z.string().max(MAX_TEXT).optional(),
  version: z.string().max(100).optional(),
  params: z.array(paramSpecSchema).max(100).superRefine(_checkParams),
  capabilities: z.object({
    filters: z.object({
      movies: filterNames.optional(),
      shows: filterNames.optional(),
      mixed: filterNames.optional(),
      other: filterNames.optional(),
    }).strict(),
  }),
  operations: z.array(z.string()).optional(),
});

/** A validated manifest. */
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * The executables an enricher may have the host find on its `PATH` by name
 * (a `run` param's `lookup`): media tools that read a file and print what
 * they find. Any other program is one the operator passes by path: by name,
 * a module could pick a shell, or `deno` itself, and run whatever it likes
 * with the grant.
 */
export const LOOKUP_TOOLS: readonly string[] = ["ffprobe", "mediainfo", "mkvmerge"];

/** An enricher's parameter: an importer's, plus the `run` grant and a `PATH` lookup. */
export const enricherParamSpecSchema = paramSpecSchema.extend({
  grants: z.enum(["net", "read", "run"]).optional(),
  lookup: z.string().refine(
    (name) => LOOKUP_TOOLS.includes(name),
    `lookup is one of ${
      LOOKUP_TOOLS.join(", ")
    }; leave it out for any other program, which the operator passes by path`,
  ).optional(),
  missingHint: z.string().max(500).optional(),
}).strict().superRefine((p, ctx) => {
  if (p.grants === "run" && (p.kind !== "path" || p.multiple || p.named)) {
    ctx.addIssue({ code: "custom", message: `param '${p.name}': a run grant is one path` });
  }
  if (p.lookup !== undefined && p.grants !== "run") {
    ctx.addIssue({ code: "custom", message: `param '${p.name}': lookup needs grants: "run"` });
  }
});

/** The manifest an enricher worker reports about itself (see `enricher_contract.ts`). */
export const enricherManifestSchema = z.object({
  typeId: z.string().regex(TYPE_ID, "typeId must match [a-z][a-z0-9_-]*"),
  displayName: z.string().min(1).max(200),
  description: z.string().max(MAX_TEXT).optional(),
  version: z.string().max(100).optional(),
  params: z.array(enricherParamSpecSchema).max(100).superRefine(_checkParams).superRefine(
    (params, ctx) => {
      // Deno's permissions do not reach into the program a run grant starts, and OS isolation
      // shares the network with a plugin host that has a net grant.
      if (params.some((p) => p.grants === "run") && params.some((p) => p.grants === "net")) {
        ctx.addIssue({
          code: "custom",
          message: "an enricher with a run grant has no net grant: the program it runs would " +
            "reach the network past the sandbox",
        });
      }
    },
  ),
  appliesTo: z.array(z.enum(["movie", "episode"])).min(1).max(2),
  concurrency: z.union([z.number().int().min(1).max(64), z.literal("per_core")]).optional(),
  timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
  operations: z.array(z.string()).optional(),
});

/** A validated enricher manifest. */
export type EnricherManifest = z.infer<typeof enricherManifestSchema>;

/** What `validateConnection` returns. */
export const connectionInfoSchema = z.object({
  serverName: z.string().max(500).optional(),
  version: z.string().max(200).optional(),
  serverId: z.string().max(500).optional(),
}).strip();

/**
 * A plugin's text, at most `max` characters, well-formed and without a NUL:
 * the catalog stores it as SQLite text, which reads back cut at the first
 * NUL and with a lone surrogate half replaced (two ids differing there would
 * collide, a path would name another file).
 */
function _text(max: number) {
  return z.string().max(max).refine(
    (v) => !v.includes("\0") && v.isWellFormed(),
    "contains a NUL character or a lone surrogate",
  );
}

/** One collection from `listCollections`. */
export const collectionInfoSchema = z.object({
  externalId: _text(2000).min(1),
  name: _text(500).min(1),
  kind: z.enum(["movies", "shows", "mixed", "other"]),
  locations: z.array(_text(4096)).max(1000).optional(),
  ingestible: z.boolean().optional(),
  reason: _text(MAX_TEXT).optional(),
});

/** The whole `listCollections` answer; external ids must be unique. */
export const collectionListSchema = z.array(collectionInfoSchema).max(10_000).superRefine(
  (list, ctx) => {
    const seen = new Set<string>();
    for (const c of list) {
      if (seen.has(c.externalId)) {
        ctx.addIssue({ code: "custom", message: `duplicate collection id '${c.externalId}'` });
      }
      seen.add(c.externalId);
    }
  },
);

const nonNegInt = z.number().int().nonnegative().max(1_000_000_000);
const optText = (max: number) => _text(max).nullish();

/** A short technical token (codec, container, language): at most 64 characters. */
const techText = z.string().max(64).nullish();

/**
 * Technical fields from a plugin (an importer's `tech`, an enricher's
 * result): every field optional, sizes bounded (at most 64 audio and 256
 * subtitle streams, short tokens) so a hostile plugin cannot make the
 * catalog store megabytes per asset. Unknown keys are dropped.
 */
export const technicalMetadataSchema = z.object({
  container: techText,
  bitrate: z.number().nonnegative().max(1e12).nullish(),
  video: z.object({
    codec: techText,
    profile: z.string().max(100).nullish(),
    width: z.number().int().nonnegative().max(100_000).nullish(),
    height: z.number().int().nonnegative().max(100_000).nullish(),
    frameRate: z.number().nonnegative().max(1000).nullish(),
    scanType: z.enum(["progressive", "interlaced"]).nullish(),
    hdr: z.enum(["sdr", "hdr10", "hdr10plus", "hlg", "dolby_vision"]).nullish(),
  }).nullish(),
  audio: z.array(z.object({
    codec: techText,
    channels: z.number().int().nonnegative().max(64).nullish(),
    language: techText,
    default: z.boolean().optional(),
  })).max(64).optional(),
  subtitles: z.array(z.object({
    codec: techText,
    language: techText,
    forced: z.boolean().optional(),
    external: z.boolean().optional(),
  })).max(256).optional(),
});

/** Validated technical fields. */
export type ValidTechnicalMetadata = z.infer<typeof technicalMetadataSchema>;

/** What an enricher's `enrich` returns for one asset (untrusted until parsed). */
export const enrichResultSchema = z.object({
  durationMs: z.number().nonnegative().max(1e12).nullish(),
  tech: technicalMetadataSchema,
});

/** A validated enrich result. */
export type ValidEnrichResult = z.infer<typeof enrichResultSchema>;

/** One asset from `fetchAssets`. */
export const importedAssetSchema = z.object({
  externalId: _text(4096).min(1),
  kind: z.enum(["movie", "episode"]),
  title: _text(1000),
  seriesTitle: optText(1000),
  season: nonNegInt.nullish(),
  episode: nonNegInt.nullish(),
  episodeEnd: nonNegInt.nullish(),
  year: z.number().int().min(1800).max(3000).nullish(),
  airDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "airDate must be YYYY-MM-DD").nullish(),
  durationMs: z.number().nonnegative().max(1e12).nullish(),
  externalIds: z.record(z.string().regex(/^[a-z0-9_]{1,40}$/), z.string().max(500)).optional(),
  path: optText(4096),
  parts: z.array(_text(4096)).max(100).optional(),
  // A safe integer at most: a larger one cannot be read back as a number (`node:sqlite`).
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullish(),
  modified: optText(500),
  tech: technicalMetadataSchema.nullish(),
}).superRefine((a, ctx) => {
  if (a.kind === "movie" && a.title.trim() === "") {
    ctx.addIssue({ code: "custom", message: "a movie needs a title" });
  }
  if (a.kind === "episode" && !a.seriesTitle?.trim()) {
    ctx.addIssue({ code: "custom", message: "an episode needs a seriesTitle" });
  }
  if (a.episodeEnd != null && (a.episode == null || a.episodeEnd < a.episode)) {
    ctx.addIssue({ code: "custom", message: "episodeEnd needs an episode no larger than it" });
  }
});

/** A validated asset. */
export type ValidImportedAsset = z.infer<typeof importedAssetSchema>;

// Compile-time checks that the schemas accept what the contract promises.
type _Assignable<T, U extends T> = U;
type _P = _Assignable<z.input<typeof paramSpecSchema>, ParamSpec>;
type _C = _Assignable<z.input<typeof collectionInfoSchema>, CollectionInfo>;
type _A = _Assignable<z.input<typeof importedAssetSchema>, ImportedAsset>;
type _I = _Assignable<z.input<typeof connectionInfoSchema>, ConnectionInfo>;
type _T = _Assignable<z.input<typeof technicalMetadataSchema>, TechnicalMetadata>;
type _E = _Assignable<z.input<typeof enrichResultSchema>, EnrichResult>;
type _EP = _Assignable<z.input<typeof enricherParamSpecSchema>, EnricherParamSpec>;
export type { _A, _C, _E, _EP, _I, _P, _T };

/** Formats the first zod issue as `path: message`, for one-line errors. */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid value";
  const path = issue.path.length ? issue.path.join(".") + ": " : "";
  return `${path}${issue.message}`;
}

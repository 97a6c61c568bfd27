/**
 * Turns one untrusted item from an importer into a catalog row.
 *
 * Every item is validated with {@link importedAssetSchema} (by hand, for
 * the items that pass, see `asset_check.ts`; by zod for the rest); text is
 * normalised (Unicode NFC, control characters dropped, whitespace collapsed)
 * so that cosmetic upstream noise does not look like a change; the local path
 * is derived from the collection's path mappings; and two fingerprints are
 * computed: one over everything stored (to detect any change) and one over
 * the file alone (to tell enrichers the media itself changed). Technical
 * fields an importer reports (`tech`) are stored as canonical JSON
 * ({@link techJson}).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { redact, type SecretForms } from "../core/config.ts";
import type { TechnicalMetadata } from "../core/contract.ts";
import { type FingerprintFields, type Fingerprints, fingerprintsOf } from "../core/fingerprint.ts";
import { mapPath, type PathMapping } from "../core/path_mapping.ts";
import {
  describeZodError,
  importedAssetSchema,
  type ValidTechnicalMetadata,
} from "../core/schemas.ts";
import { checkImportedAsset } from "./asset_check.ts";
import { normalizeText } from "./text.ts";

export { normalizeText };

/**
 * A validated, normalised asset, ready to be compared with the catalog and
 * stored: the stored fields (see {@link FingerprintFields}) with its id and
 * fingerprints.
 */
export interface NormalizedAsset extends FingerprintFields {
  /** The importer's stable id within the collection. */
  externalId: string;
  /** Movie or episode. */
  kind: "movie" | "episode";
  /** Movie title, or the episode's own title (may be empty). */
  title: string;
  /** Local path through the path mappings (the upstream path when none matches). */
  localPath: string | null;
  /** Hash over every stored field: any difference means "changed". */
  fingerprint: string;
  /** Hash over the file fields (paths, size, marker): a difference resets the state to `new`. */
  fileFingerprint: string;
  /** Technical fields from the importer as canonical JSON ({@link techJson}), or null. */
  tech: string | null;
}

/** The outcome of {@link normalizeAsset}: a row, or why the item was rejected. */
export type NormalizeOutcome =
  | { ok: true; asset: NormalizedAsset }
  | { ok: false; externalId: string | null; reason: string };

/** Options for {@link normalizeAsset}. */
export interface NormalizeOptions {
  /**
   * The source's secrets (see `secretForms` in `core/config.ts`): an item
   * whose stored text carries any form of one is rejected, and reasons and
   * ids in rejections are scrubbed.
   */
  secrets?: SecretForms;
}

/** The reason given for an item that carries one of its source's secrets. */
export const CARRIES_CREDENTIAL = "carries a credential of its source (not stored)";

/** Longest reported external id in issues; longer ids are cut with `…`. */
const MAX_REPORTED_ID = 200;

/**
 * Validates and normalises one raw item. Never throws for bad input: an
 * invalid item comes back as `{ ok: false }` with a one-line reason. With
 * `options.secrets`, an item whose stored text (ids, titles, paths, provider
 * ids, markers) carries one of its source's secrets in any form is rejected
 * with {@link CARRIES_CREDENTIAL}, and no rejection repeats a secret.
 */
export function normalizeAsset(
  raw: unknown,
  mappings: readonly PathMapping[],
  options: NormalizeOptions = {},
): NormalizeOutcome {
  const secrets = options.secrets?.size ? options.secrets : undefined;
  const outcome = _normalize(raw, mappings, secrets);
  if (outcome.ok) return outcome;
  // Masked whole, then cut: cut first, a secret's start would no longer read as the secret.
  const id = outcome.externalId;
  const shown = id === null || !secrets ? id : redact(id, secrets);
  return {
    ok: false,
    externalId: shown === null ? null : _cutId(shown),
    reason: secrets ? redact(outcome.reason, secrets) : outcome.reason,
  };
}

function _normalize(
  raw: unknown,
  mappings: readonly PathMapping[],
  secrets: SecretForms | undefined,
): NormalizeOutcome {
  let a = checkImportedAsset(raw);
  if (a === undefined) {
    const parsed = importedAssetSchema.safeParse(raw);
    if (!parsed.success) {
      return { ok: false, externalId: rawExternalId(raw), reason: describeZodError(parsed.error) };
    }
    a = parsed.data;
  }
  const isEpisode = a.kind === "episode";
  const parts = a.parts ?? [];
  const path = a.path ?? parts[0] ?? null;
  const title = normalizeText(a.title);
  if (a.kind === "movie" && title === "") {
    return { ok: false, externalId: rawExternalId(raw), reason: "a movie needs a title" };
  }
  const seriesTitle = isEpisode ? normalizeText(a.seriesTitle ?? "") : null;
  if (isEpisode && seriesTitle === "") {
    return { ok: false, externalId: rawExternalId(raw), reason: "an episode needs a seriesTitle" };
  }
  const season = isEpisode ? a.season ?? null : null;
  const episode = isEpisode ? a.episode ?? null : null;
  const episodeEnd = isEpisode ? a.episodeEnd ?? null : null;
  const year = a.year ?? null;
  const airDate = a.airDate ?? null;
  const durationMs = a.durationMs == null ? null : Math.round(a.durationMs);
  const externalIds = _canonicalIds(a.externalIds);
  const partsJson = JSON.stringify(parts);
  const localPath = path === null ? null : (mapPath(path, mappings) ?? path);
  const size = a.size == null ? null : Math.round(a.size);
  const modified = a.modified ?? null;
  const tech = techJson(a.tech);
  if (
    secrets &&
    _storesSecret(secrets, [
      a.externalId,
      title,
      seriesTitle,
      airDate,
      path,
      localPath,
      modified,
      tech,
    ], {
      path,
      parts,
      ids: a.externalIds,
    })
  ) {
    return { ok: false, externalId: rawExternalId(raw), reason: CARRIES_CREDENTIAL };
  }
  const { fingerprint, fileFingerprint } = assetFingerprints({
    kind: a.kind,
    title,
    seriesTitle,
    season,
    episode,
    episodeEnd,
    year,
    airDate,
    durationMs,
    externalIds,
    path,
    parts: partsJson,
    localPath,
    size,
    modified,
    tech,
  });
  return {
    ok: true,
    asset: {
      externalId: a.externalId,
      kind: a.kind,
      title,
      seriesTitle,
      season,
      episode,
      episodeEnd,
      year,
      airDate,
      durationMs,
      externalIds,
      path,
      parts: partsJson,
      localPath,
      size,
      modified,
      fingerprint,
      fileFingerprint,
      tech,
    },
  };
}

/**
 * Technical fields (validated with `technicalMetadataSchema`) as canonical
 * JSON: every key present in a fixed order (unknown values `null`, flags
 * `false`), tokens (container, codecs, languages) normalised and lower case,
 * bitrate whole bits per second, frame rate to 3 decimals. Null when nothing
 * is known, so an empty `tech` stores (and fingerprints) like none. The same
 * upstream facts thus always give the same text.
 */
export function techJson(
  tech: ValidTechnicalMetadata | null | undefined,
): string | null {
  if (!tech) return null;
  const v = tech.video;
  let video: TechnicalMetadata["video"] = null;
  if (v) {
    const candidate = {
      codec: _token(v.codec),
      profile: _label(v.profile),
      width: v.width ?? null,
      height: v.height ?? null,
      frameRate: v.frameRate == null ? null : Math.round(v.frameRate * 1000) / 1000,
      scanType: v.scanType ?? null,
      hdr: v.hdr ?? null,
    };
    if (Object.values(candidate).some((x) => x !== null)) video = candidate;
  }
  const audio = (tech.audio ?? []).map((a) => ({
    codec: _token(a.codec),
    channels: a.channels ?? null,
    language: _token(a.language),
    default: a.default ?? false,
  }));
  const subtitles = (tech.subtitles ?? []).map((t) => ({
    codec: _token(t.codec),
    language: _token(t.language),
    forced: t.forced ?? false,
    external: t.external ?? false,
  }));
  const out: Required<TechnicalMetadata> = {
    container: _token(tech.container),
    bitrate: tech.bitrate == null ? null : Math.round(tech.bitrate),
    video,
    audio,
    subtitles,
  };
  const empty = out.container === null && out.bitrate === null && video === null &&
    audio.length === 0 && subtitles.length === 0;
  return empty ? null : JSON.stringify(out);
}

/** A technical token: normalised, lower case; empty is null. */
function _token(text: string | null | undefined): string | null {
  const t = _label(text);
  return t === null ? null : t.toLowerCase();
}

/** A technical label (a codec profile): normalised; empty is null. */
function _label(text: string | null | undefined): string | null {
  if (text == null) return null;
  const t = normalizeText(text);
  return t === "" ? null : t;
}

/**
 * The `externalId` of a raw item when it has a usable one, whole: a report
 * masks secrets in it first, then cuts it (see {@link normalizeAsset}).
 */
export function rawExternalId(raw: unknown): string | null {
  if (typeof raw !== "object" || raw === null) return null;
  const id = (raw as Record<string, unknown>).externalId;
  return typeof id !== "string" || id === "" ? null : id;
}

/** An external id as reports show it: cut to 200 characters. */
function _cutId(id: string): string {
  return id.length > MAX_REPORTED_ID ? id.slice(0, MAX_REPORTED_ID) + "…" : id;
}

/** The fields of a {@link NormalizedAsset} its fingerprints are computed from. */
export type FingerprintedFields = Omit<
  NormalizedAsset,
  "externalId" | "fingerprint" | "fileFingerprint"
>;

/**
 * The two fingerprints of an asset (see `core/fingerprint.ts`):
 * `fileFingerprint` over the file fields (path, parts, size, marker),
 * `fingerprint` over everything stored. The classifier also calls it to
 * recompute what an asset's fingerprint was before an importer added
 * {@link FILE_IDS_MARKER} to its marker.
 */
export function assetFingerprints(f: FingerprintedFields): Fingerprints {
  return fingerprintsOf(f);
}

/**
 * How an importer appends the upstream's own file ids to its `modified`
 * marker (` parts=<ids>` at the end, e.g. Plex's `1700000000 parts=101:1011`),
 * so that a file swapped under an item with the same name, size and
 * timestamp still counts as changed.
 */
export const FILE_IDS_MARKER = "parts=";

const _FILE_IDS_SUFFIX = /(?:^| )parts=[^ ]*$/;

/**
 * An asset's `modified` marker without its {@link FILE_IDS_MARKER} suffix
 * (null when nothing else is left), or undefined when it has none. Used to
 * keep the first ingest after an importer started reporting file ids quiet.
 */
export function withoutFileIds(modified: string | null): string | null | undefined {
  if (modified === null || !modified.includes(FILE_IDS_MARKER)) return undefined;
  const m = _FILE_IDS_SUFFIX.exec(modified);
  if (!m) return undefined;
  const rest = modified.slice(0, m.index);
  return rest === "" ? null : rest;
}

/**
 * The id a *new* asset gets: `a-` + 12 hex of sha-256(collection id, NUL,
 * external id). It is never derived again for an existing asset, whose id
 * stays what it was even when its external id changes (a re-keyed asset), so
 * an id is not always `assetId(collectionId, externalId)`.
 */
export function assetId(collectionId: string, externalId: string): string {
  return "a-" + _hash(`${collectionId}\0${externalId}`).slice(0, 12);
}

/**
 * Whether any stored text (the fields, every part, every provider id's key
 * and value) carries a secret. Each is tested on its own: joining them first
 * costs more, as the matcher then flattens the joined string for every asset.
 */
function _storesSecret(
  secrets: SecretForms,
  texts: readonly (string | null)[],
  more: {
    path: string | null;
    parts: readonly string[];
    ids: Record<string, string> | undefined;
  },
): boolean {
  for (const text of texts) if (text !== null && secrets.test(text)) return true;
  // The first part is usually the path itself, tested among the texts.
  for (const part of more.parts) if (part !== more.path && secrets.test(part)) return true;
  for (const key in more.ids) if (secrets.test(key) || secrets.test(more.ids[key])) return true;
  return false;
}

function _canonicalIds(ids: Record<string, string> | undefined): string {
  if (!ids) return "{}";
  const keys = Object.keys(ids).sort();
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = ids[k].trim();
    if (v !== "") out[k] = v;
  }
  return JSON.stringify(out);
}

/** 128 bits of sha-256 as 32 hex digits (ids only; fingerprints use `core/fingerprint.ts`). */
function _hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/**
 * The registry's public types: what the host (CLI, ingest) sees of importers.
 *
 * @module
 */

import type {
  AssetFilters,
  CollectionRef,
  ConnectionInfo,
  ImporterConfig,
} from "../core/contract.ts";
import type { EnrichTarget } from "../core/enricher_contract.ts";
import type { EnricherManifest, Manifest, ValidEnrichResult } from "../core/schemas.ts";
import type { Isolation, IsolationLevel } from "./_isolation.ts";
import type { z } from "zod";
import type { collectionInfoSchema } from "../core/schemas.ts";

/** A collection after host validation. */
export type ValidCollectionInfo = z.infer<typeof collectionInfoSchema>;

/** One importer module the registry found, loaded or not. */
export type ImporterTypeInfo =
  | {
    /** Loaded and its manifest is valid. */
    status: "available";
    /** The module's `typeId`. */
    typeId: string;
    /** Absolute path of the module file. */
    file: string;
    /** The validated manifest. */
    manifest: Manifest;
  }
  | {
    /** Failed to load, or its manifest is invalid. */
    status: "broken";
    /** The `typeId` if the manifest got that far. */
    typeId?: string;
    /** Absolute path of the module file. */
    file: string;
    /** One line saying why. */
    reason: string;
  };

/** Something a plugin reported during a call, besides its result. */
export type PluginNotice =
  | { kind: "warn"; message: string }
  | { kind: "skipped"; item: string; reason: string }
  | { kind: "total"; count: number }
  /**
   * An external-id prefix the listing could not read, or with `exact` one
   * whole external id (see `CallContext.unlisted`); not scrubbed.
   */
  | { kind: "unlisted"; prefix: string; exact: boolean };

/** Per-call options. */
export interface CallOptions {
  /** Receives warnings and skipped items the plugin reports (already scrubbed of secrets). */
  onNotice?: (notice: PluginNotice) => void;
  /** Cancels the call; the plugin's `signal` is aborted. */
  signal?: AbortSignal;
  /**
   * Deadline in milliseconds. For streams it is an idle deadline: the time
   * allowed between two batches. Defaults to the client's `timeoutMs`.
   */
  timeoutMs?: number;
}

/** A batch of raw (not yet validated) assets streamed from a plugin. */
export type RawAssetBatch = unknown[];

/**
 * A live connection to one source's importer, running in a sandboxed worker.
 * Every method rejects with a `RetrovueError` whose code is the plugin's
 * (`AUTH_FAILED`, …) or the runtime's (`TIMEOUT`, `PLUGIN_CRASHED`, …).
 */
export interface ImporterClient {
  /** The importer's manifest. */
  readonly manifest: Manifest;
  /** How its plugin host is isolated: `os` (bubblewrap + Deno permissions) or `deno`. */
  readonly isolation: IsolationLevel;
  /** Runs `validateConnection` in the sandbox. */
  validateConnection(options?: CallOptions): Promise<ConnectionInfo>;
  /** Runs `listCollections`; the answer is validated by the host. */
  listCollections(options?: CallOptions): Promise<ValidCollectionInfo[]>;
  /**
   * Runs `fetchAssets` and yields raw batches as they arrive, with
   * back-pressure: the plugin produces only as fast as the caller consumes.
   * Items are untrusted; validate each with `importedAssetSchema`.
   */
  fetchAssets(
    request: { collection: CollectionRef; filters: AssetFilters },
    options?: CallOptions,
  ): AsyncIterable<RawAssetBatch>;
  /** Stops the worker (and the plugin host process when it is the last). */
  close(): Promise<void>;
}

/** Options for {@link Registry.open}. */
export interface OpenOptions {
  /** Default per-call deadline in milliseconds. */
  timeoutMs?: number;
  /**
   * Called once the plugin-host process has been started, before its worker
   * is ready (~0.2 s later): the caller can load what it needs next meanwhile.
   */
  onStarted?: () => void;
}

/** The set of importer types found at start-up. */
export interface Registry {
  /** Every module found, in a deterministic order (type id, then file). */
  readonly types: readonly ImporterTypeInfo[];
  /**
   * The isolation plugin hosts get on this machine, probed when first asked
   * for (by this or by opening a client), so a registry that only lists types
   * starts no process.
   */
  isolation(): Promise<Isolation>;
  /** Whether the module at `file` is a built-in importer (runs even where isolation is required). */
  isBuiltin(file: string): boolean;
  /** The available importer of a type, or undefined. */
  get(typeId: string): Extract<ImporterTypeInfo, { status: "available" }> | undefined;
  /**
   * Starts a sandboxed worker for one source. `config` must already be
   * validated with `validateConfig` (paths absolute and real).
   * Throws `IMPORTER_UNAVAILABLE` when the type is not loaded, and
   * `ISOLATION_REQUIRED` for a third-party importer when `RETROVUE_ISOLATION=required`
   * and OS isolation is unavailable.
   */
  open(typeId: string, config: ImporterConfig, options?: OpenOptions): Promise<ImporterClient>;
  /** Stops every worker and the plugin host process. */
  close(): Promise<void>;
}

/** One enricher module the registry found, loaded or not. */
export type EnricherTypeInfo =
  | {
    /** Loaded, its manifest is valid, and what it needs to run is there. */
    status: "available";
    /** The module's `typeId`. */
    typeId: string;
    /** Absolute path of the module file. */
    file: string;
    /** The validated manifest. */
    manifest: EnricherManifest;
  }
  | {
    /** Loaded and valid, but an executable it runs was found nowhere. */
    status: "unavailable";
    /** The module's `typeId`. */
    typeId: string;
    /** Absolute path of the module file. */
    file: string;
    /** The validated manifest. */
    manifest: EnricherManifest;
    /** One line saying what to do (e.g. `install ffmpeg or pass --ffprobe PATH`). */
    reason: string;
  }
  | {
    /** Failed to load, or its manifest is invalid. */
    status: "broken";
    /** The `typeId` if the manifest got that far. */
    typeId?: string;
    /** Absolute path of the module file. */
    file: string;
    /** One line saying why. */
    reason: string;
  };

/**
 * A live worker of one attached enricher. `enrich` rejects with a
 * `RetrovueError` whose code is the enricher's (`MEDIA_INVALID`, …) or the
 * runtime's (`TIMEOUT`, `PLUGIN_CRASHED`, `PERMISSION_DENIED`, …).
 */
export interface EnricherClient {
  /** The enricher's manifest. */
  readonly manifest: EnricherManifest;
  /** How its plugin host is isolated. */
  readonly isolation: IsolationLevel;
  /** False once the worker or its process is gone (a crash, or a deadline that stopped it). */
  readonly alive: boolean;
  /** Runs `enrich` for one asset in the sandbox; the answer is validated. */
  enrich(target: EnrichTarget, options?: CallOptions): Promise<ValidEnrichResult>;
  /** Stops the worker and its plugin host process. */
  close(): Promise<void>;
}

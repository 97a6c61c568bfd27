/**
 * The checklist items that need no running importer: `manifest` (it loaded
 * and is valid; doubtful params are lint) and `unique_type_id`.
 *
 * @module
 */

import type { CollectionKind, FilterName, ParamSpec } from "../core/contract.ts";
import type { ImporterTypeInfo } from "../registry/mod.ts";
import type { Check } from "./_report.ts";

/** What the manifest items look at: the loaded module and every other importer found. */
export interface ManifestSubject {
  /** The module checked (its manifest loaded). */
  info: Extract<ImporterTypeInfo, { status: "available" }>;
  /** Other importers' manifests (built-ins and plugin folders). */
  others: readonly ImporterTypeInfo[];
}

/** `manifest` and `unique_type_id`, in checklist order. */
export const MANIFEST_CHECKS: readonly Check<ManifestSubject>[] = [
  {
    name: "manifest",
    run({ info }) {
      const m = info.manifest;
      const manifestText = `${m.displayName}${m.version ? ` ${m.version}` : ""}: ` +
        `${m.params.length} param(s); filters ${_filtersText(m.capabilities.filters)}`;
      const doubts = _paramDoubts(m.params);
      if (doubts.length) return ["lint", `${manifestText}; but ${doubts.join("; ")}`];
      return ["pass", manifestText];
    },
  },
  {
    name: "unique_type_id",
    run({ info, others }) {
      const clash = others.filter((o) =>
        o.status === "available" && o.typeId === info.typeId && o.file !== info.file
      );
      if (clash.length) {
        return [
          "fail",
          `type id '${info.typeId}' is already claimed by ${clash.map((c) => c.file).join(", ")}`,
        ];
      }
      return ["pass", `no other importer claims '${info.typeId}'`];
    },
  },
];

/** What is valid but doubtful in a manifest's params (the schema refuses what is wrong). */
function _paramDoubts(params: readonly ParamSpec[]): string[] {
  const out: string[] = [];
  for (const p of params) {
    if ((p.min !== undefined || p.max !== undefined) && p.kind !== "integer") {
      out.push(`'${p.flag}' has min/max, which only an integer param uses`);
    }
    if (p.required && p.default !== undefined) {
      out.push(`'${p.flag}' is required and has a default, which is never used`);
    }
    if (p.secret && p.kind === "boolean") {
      out.push(`'${p.flag}' is a secret boolean: there is nothing to hide in on/off`);
    }
  }
  return out;
}

function _filtersText(filters: Partial<Record<CollectionKind, FilterName[]>>): string {
  const parts = Object.entries(filters).map(([k, v]) => `${k}: ${(v ?? []).join(", ") || "none"}`);
  return parts.length ? parts.join("; ") : "none (the host filters everything)";
}

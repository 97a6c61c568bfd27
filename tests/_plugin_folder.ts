/**
 * A registry over a temporary plugin folder written for one test: the
 * plugin files are written, the registry loaded (Deno permissions only, so
 * the test runs the same with or without bubblewrap), and both removed after.
 *
 * @module
 */

import { join } from "node:path";
import { loadRegistry, type Registry } from "../registry/mod.ts";

/** Runs `fn` with a registry of the plugins `files` (file name → source) alone. */
export async function withPluginFolder(
  files: Record<string, string>,
  fn: (registry: Registry) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-test-plugins-" });
  try {
    for (const [name, source] of Object.entries(files)) {
      Deno.writeTextFileSync(join(dir, name), source);
    }
    const registry = await loadRegistry({
      builtinDir: dir,
      timeoutMs: 60_000,
      isolation: { level: "deno", mode: "auto" },
    });
    try {
      await fn(registry);
    } finally {
      await registry.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * The Plex importer through the registry: in its sandboxed worker it reaches
 * the mock and nothing else, typed errors cross the boundary, and
 * `--verify-ssl false` relaxes certificate checks for its host only.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ImporterConfig } from "../core/contract.ts";
import { validateConfig } from "../core/config.ts";
import { loadRegistry, type Registry } from "../registry/mod.ts";
import { deriveSandbox } from "../registry/_permissions.ts";
import { type PlexMock, startPlexMock } from "./mocks/plex_server.ts";
import { makeTestCertificates } from "./mocks/plex_tls.ts";

async function withRegistry(fn: (registry: Registry) => Promise<void>): Promise<void> {
  const registry = await loadRegistry({});
  try {
    await fn(registry);
  } finally {
    await registry.close();
  }
}

function plexConfig(registry: Registry, raw: Record<string, string>): ImporterConfig {
  const info = registry.get("plex");
  assert.ok(info, "the plex importer is discovered in importers/");
  return validateConfig(info.manifest.params, raw, { cwd: Deno.cwd() });
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.equal((error as { code?: string }).code, code, (error as Error).message);
    return error as Error;
  }
  throw new assert.AssertionError({ message: `expected a ${code} rejection` });
}

Deno.test("plex sandbox: discovery and a full fetch through the worker", async () => {
  const mock: PlexMock = await startPlexMock();
  try {
    await withRegistry(async (registry) => {
      const config = plexConfig(registry, { base_url: mock.url + "/", token: mock.token });
      assert.equal(
        config.page_size,
        registry.get("plex")?.manifest.params.find((p) => p.name === "page_size")?.default,
      );
      const client = await registry.open("plex", config);
      try {
        const info = await client.validateConnection();
        assert.equal(info.serverId, mock.machineIdentifier);
        const collections = await client.listCollections();
        const shows = collections.find((c) => c.kind === "shows");
        assert.ok(shows);
        let count = 0;
        for await (
          const batch of client.fetchAssets({
            collection: { externalId: shows.externalId, kind: "shows", name: shows.name },
            filters: {},
          })
        ) count += batch.length;
        assert.equal(count, 12, "2 shows × 2 seasons × 3 episodes");
      } finally {
        await client.close();
      }
    });
    for (const r of mock.requests) assert.ok(!r.url.includes(mock.token), r.url);
  } finally {
    await mock.close();
  }
});

Deno.test("plex sandbox: a bad token is AUTH_FAILED across the worker boundary, token not echoed", async () => {
  const mock = await startPlexMock();
  try {
    await withRegistry(async (registry) => {
      const token = "definitely-wrong-token-42";
      const client = await registry.open(
        "plex",
        plexConfig(registry, { base_url: mock.url, token }),
      );
      try {
        const e = await rejectsWith(client.validateConnection(), "AUTH_FAILED");
        assert.ok(!e.message.includes(token));
        assert.match(e.message, /--token/);
      } finally {
        await client.close();
      }
    });
  } finally {
    await mock.close();
  }
});

Deno.test("plex sandbox: the worker may reach only its server: a redirect to another port is denied", async () => {
  const mock = await startPlexMock();
  let bystanderHits = 0;
  const bystander = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => {
      bystanderHits++;
      return new Response("{}", { headers: { "content-type": "application/json" } });
    },
  );
  try {
    const other = `http://127.0.0.1:${bystander.addr.port}/library/sections`;
    mock.setFault({ kind: "redirect", location: other, path: "/library/sections" });
    await withRegistry(async (registry) => {
      const config = plexConfig(registry, { base_url: mock.url, token: mock.token });
      const sandbox = deriveSandbox(registry.get("plex")!.manifest.params, config);
      assert.deepEqual(sandbox.permissions.net, [`127.0.0.1:${new URL(mock.url).port}`]);
      assert.equal(sandbox.permissions.read, false, "no file access without --ca-file");
      assert.equal(sandbox.permissions.env, false);
      assert.equal(sandbox.permissions.write, false);
      const client = await registry.open("plex", config);
      try {
        // The importer follows redirects itself, to its own origin only: another is refused
        // before any request (the sandbox would deny it too; hostile fixtures test that).
        const e = await rejectsWith(client.listCollections(), "CONFIG_INVALID");
        assert.match(e.message, /redirects to http:\/\/127\.0\.0\.1:\d+; use that as --base-url/);
      } finally {
        await client.close();
      }
    });
    assert.equal(bystanderHits, 0, "the other port never saw a request");
  } finally {
    await bystander.shutdown();
    await mock.close();
  }
});

Deno.test("plex sandbox: --verify-ssl false accepts the server's unknown certificate; --ca-file also works", async () => {
  const certs = await makeTestCertificates();
  if (!certs) {
    console.log("skipped: openssl is not available to make a test certificate");
    return;
  }
  const mock = await startPlexMock({ tls: { cert: certs.cert, key: certs.key } });
  try {
    await withRegistry(async (registry) => {
      const cases: [Record<string, string>, string | undefined][] = [
        [{}, "UNREACHABLE"],
        [{ verify_ssl: "false" }, undefined],
        [{ ca_file: certs.caFile }, undefined],
      ];
      for (const [extra, code] of cases) {
        const config = plexConfig(registry, { base_url: mock.url, token: mock.token, ...extra });
        const client = await registry.open("plex", config);
        try {
          if (code) {
            const e = await rejectsWith(client.validateConnection(), code);
            assert.match(e.message, /certificate/);
          } else {
            const info = await client.validateConnection();
            assert.equal(info.serverId, mock.machineIdentifier, JSON.stringify(extra));
          }
        } finally {
          await client.close();
        }
      }
    });
  } finally {
    await mock.close();
    await Deno.remove(certs.dir, { recursive: true });
  }
});

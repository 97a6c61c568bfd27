/**
 * The `jellyfin` and `emby` importers through the registry: in their
 * sandboxed workers they reach the mock and nothing else, get no file
 * access, typed errors cross the boundary with the key scrubbed, a
 * malformed upstream item crosses as a `skipped` notice, and `--verify-ssl
 * false` relaxes certificate checks for the source's host only.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ImporterConfig } from "../core/contract.ts";
import { validateConfig } from "../core/config.ts";
import { loadRegistry, type Registry } from "../registry/mod.ts";
import { deriveSandbox } from "../registry/_permissions.ts";
import type { PluginNotice } from "../registry/_types.ts";
import { type JellyfinMock, startJellyfinMock } from "./mocks/jellyfin_server.ts";
import { makeTestCertificates } from "./mocks/plex_tls.ts";

async function withRegistry(fn: (registry: Registry) => Promise<void>): Promise<void> {
  const registry = await loadRegistry({});
  try {
    await fn(registry);
  } finally {
    await registry.close();
  }
}

function configFor(
  registry: Registry,
  typeId: "jellyfin" | "emby",
  raw: Record<string, string>,
): ImporterConfig {
  const info = registry.get(typeId);
  assert.ok(info, `the ${typeId} importer is discovered in importers/`);
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

function assertKeyNeverInUrls(mock: JellyfinMock): void {
  for (const r of mock.requests) assert.ok(!r.url.includes(mock.apiKey), r.url);
}

for (const flavor of ["jellyfin", "emby"] as const) {
  Deno.test(`${flavor} sandbox: discovery and a full fetch through the worker`, async () => {
    const mock = await startJellyfinMock({ flavor });
    try {
      await withRegistry(async (registry) => {
        const config = configFor(registry, flavor, {
          base_url: mock.url + "/",
          api_key: mock.apiKey,
        });
        assert.equal(config.verify_ssl, true);
        assert.equal(
          config.page_size,
          registry.get(flavor)?.manifest.params.find((p) => p.name === "page_size")?.default,
        );
        const client = await registry.open(flavor, config);
        try {
          const info = await client.validateConnection();
          assert.equal(info.serverId, mock.serverId);
          const collections = await client.listCollections();
          assert.deepEqual(collections.map((c) => c.kind), ["movies", "shows", "other"]);
          const shows = collections[1];
          let count = 0;
          for await (
            const batch of client.fetchAssets({
              collection: { externalId: shows.externalId, kind: "shows", name: shows.name },
              filters: {},
            })
          ) count += batch.length;
          assert.equal(count, 14, "every episode file, no missing-episode placeholders");
        } finally {
          await client.close();
        }
      });
      assertKeyNeverInUrls(mock);
    } finally {
      await mock.close();
    }
  });
}

Deno.test("jellyfin sandbox: a bad key is AUTH_FAILED across the worker boundary, key not echoed", async () => {
  const mock = await startJellyfinMock();
  try {
    await withRegistry(async (registry) => {
      const key = "definitely-wrong-key-42";
      const client = await registry.open(
        "jellyfin",
        configFor(registry, "jellyfin", { base_url: mock.url, api_key: key }),
      );
      try {
        const e = await rejectsWith(client.validateConnection(), "AUTH_FAILED");
        assert.ok(!e.message.includes(key));
        assert.match(e.message, /--api-key/);
      } finally {
        await client.close();
      }
    });
  } finally {
    await mock.close();
  }
});

Deno.test("jellyfin sandbox: the worker reaches only its server and may read no file", async () => {
  const mock = await startJellyfinMock();
  let bystanderHits = 0;
  const bystander = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => {
      bystanderHits++;
      return Response.json({ Items: [], TotalRecordCount: 0 });
    },
  );
  try {
    const other = `http://127.0.0.1:${bystander.addr.port}/UserViews`;
    mock.setFault({ kind: "redirect", location: other, path: "/Library/VirtualFolders" });
    await withRegistry(async (registry) => {
      const config = configFor(registry, "jellyfin", { base_url: mock.url, api_key: mock.apiKey });
      const sandbox = deriveSandbox(registry.get("jellyfin")!.manifest.params, config);
      assert.deepEqual(sandbox.permissions.net, [`127.0.0.1:${new URL(mock.url).port}`]);
      assert.equal(sandbox.permissions.read, false, "no file access at all");
      assert.equal(sandbox.permissions.write, false);
      assert.equal(sandbox.permissions.env, false);
      assert.equal(sandbox.permissions.run, false);
      assert.deepEqual(sandbox.insecureTlsHosts, []);
      const client = await registry.open("jellyfin", config);
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

Deno.test("jellyfin sandbox: --verify-ssl false accepts the server's unknown certificate", async () => {
  const certs = await makeTestCertificates();
  if (!certs) {
    console.log("skipped: openssl is not available to make a test certificate");
    return;
  }
  const mock = await startJellyfinMock({ tls: { cert: certs.cert, key: certs.key } });
  try {
    await withRegistry(async (registry) => {
      for (const verify of ["true", "false"]) {
        const config = configFor(registry, "jellyfin", {
          base_url: mock.url,
          api_key: mock.apiKey,
          verify_ssl: verify,
        });
        const client = await registry.open("jellyfin", config);
        try {
          if (verify === "true") {
            const e = await rejectsWith(client.validateConnection(), "UNREACHABLE");
            assert.match(e.message, /certificate/);
            assert.match(e.message, /--verify-ssl false/);
          } else {
            const info = await client.validateConnection();
            assert.equal(info.serverId, mock.serverId);
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

Deno.test("jellyfin 12.0 sandbox: a malformed item is a skipped notice; an unknown page shape a typed error", async () => {
  const mock = await startJellyfinMock({ version: "12.0.0" });
  try {
    const episodes = mock.nodes.filter((n) => n.type === "Episode" && n.locationType !== "Virtual");
    episodes[2].dtoPatch = { IndexNumber: "x" };
    for (const m of mock.nodes.filter((n) => n.type === "Movie")) m.dtoPatch = { Id: undefined };
    mock.changed();
    await withRegistry(async (registry) => {
      const config = configFor(registry, "jellyfin", { base_url: mock.url, api_key: mock.apiKey });
      const client = await registry.open("jellyfin", config);
      try {
        const collections = await client.listCollections();
        const [movies, shows] = collections;
        const notices: PluginNotice[] = [];
        let count = 0;
        for await (
          const batch of client.fetchAssets(
            {
              collection: { externalId: shows.externalId, kind: "shows", name: shows.name },
              filters: {},
            },
            { onNotice: (n) => notices.push(n) },
          )
        ) count += batch.length;
        assert.equal(count, 13, "every other episode of the page and the library");
        // The listing's total crosses the sandbox as a progress hint, then the skipped item,
        // whose stored asset is kept by its exact id.
        assert.deepEqual(notices.map((n) => n.kind), ["total", "skipped", "unlisted"]);
        assert.ok(notices[0].kind === "total" && notices[0].count >= count, "a plain count");
        assert.match(JSON.stringify(notices[1]), /IndexNumber is not a whole number/);
        assert.deepEqual(notices[2], { kind: "unlisted", prefix: episodes[2].id, exact: true });
        const e = await rejectsWith(
          (async () => {
            for await (
              const _ of client.fetchAssets({
                collection: { externalId: movies.externalId, kind: "movies", name: movies.name },
                filters: {},
              })
            ) { /* consume */ }
          })(),
          "MALFORMED_RESPONSE",
        );
        assert.match(e.message, /usable Id/);
      } finally {
        await client.close();
      }
    });
    assert.ok(mock.requests.every((r) => r.status !== 401), "12.0 accepted every request");
    assertKeyNeverInUrls(mock);
  } finally {
    await mock.close();
  }
});

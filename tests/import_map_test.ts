/**
 * The plugin host's import map (`registry/_import_map.ts`): modules load
 * from the given folders only, whatever the folders are named, and every other
 * `file:` import is refused however it is spelled. The hostile-plugin tests
 * in `registry_test.ts` cover the same through real plugin hosts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { hostImportMap, hostImportMapUrl } from "../registry/_import_map.ts";
import { denialInOurTerms, DENIED_IMPORT_HOST, outsideImportDenial } from "../registry/_harden.ts";
import { HOST_RUN_FLAGS } from "../registry/mod.ts";

/** A folder name that breaks naive URL and flag handling. */
const AWKWARD = `Plug, ins #1 100% "q" 'a' ü`;

Deno.test("import map: the given folders map to themselves, everything else to the denied host", () => {
  const root = join("/srv", AWKWARD);
  const { imports } = hostImportMap(["/opt/retrovue/registry", root]);
  assert.equal(imports["file:///"], `https://${DENIED_IMPORT_HOST}/`);
  assert.equal(imports["file:///opt/retrovue/registry/"], "file:///opt/retrovue/registry/");
  const own = `${pathToFileURL(root).href}/`;
  assert.equal(imports[own], own);
  assert.ok(!own.includes("#") && !own.includes(" "), `escaped: ${own}`);
  for (const name of ["node:worker_threads", "worker_threads", "node:module", "module"]) {
    assert.match(imports[name], /\/registry\/_denied_module\.js$/, name);
  }
  const files = ["node:fs", "fs", "node:fs/promises", "fs/promises", "node:sqlite"];
  for (const name of files) {
    assert.match(
      imports[name],
      /\/registry\/_denied_file_module\.js$/,
      `${name} without OS isolation`,
    );
  }
  const isolated = hostImportMap([root], { osIsolation: true }).imports;
  for (const name of files) assert.equal(isolated[name], undefined, `${name} under OS isolation`);
  assert.equal(isolated["node:module"], imports["node:module"], "workers stay denied either way");
});

Deno.test("import map: the data: URL decodes to the same map", async () => {
  const roots = ["/x", join("/srv", AWKWARD)];
  const url = hostImportMapUrl(roots);
  assert.match(url, /^data:application\/json;base64,[A-Za-z0-9+/=]+$/);
  assert.deepEqual(await (await fetch(url)).json(), hostImportMap(roots));
});

Deno.test({
  name: "import map: a deno process imports from its folder only, however a path is spelled",
  permissions: { read: true, write: true, run: [Deno.execPath()] },
  async fn() {
    const base = Deno.makeTempDirSync({ prefix: "retrovue-import-map-" });
    try {
      const plugin = join(base, AWKWARD);
      const data = join(base, "data");
      Deno.mkdirSync(plugin);
      Deno.mkdirSync(data);
      Deno.writeTextFileSync(join(plugin, "own.json"), '{"own":true}');
      Deno.writeTextFileSync(join(data, "secret.json"), '{"secret":true}');
      Deno.symlinkSync(join(data, "secret.json"), join(plugin, "..", "link.json"));
      const attempts = [
        "./own.json",
        pathToFileURL(join(data, "secret.json")).href,
        pathToFileURL(join(data, "secret.json")).href.replace("/data/", "//data/"),
        `${pathToFileURL(plugin).href}/../data/secret.json`,
        pathToFileURL(join(base, "link.json")).href,
      ];
      Deno.writeTextFileSync(
        join(plugin, "main.ts"),
        `const out = [];
for (const spec of ${JSON.stringify(attempts)}) {
  try {
    out.push(JSON.stringify((await import(spec, { with: { type: "json" } })).default));
  } catch (e) {
    out.push(String(e.message).includes(${
          JSON.stringify(DENIED_IMPORT_HOST)
        }) ? "denied" : e.message);
  }
}
console.log(JSON.stringify(out));
`,
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...HOST_RUN_FLAGS,
          "--no-config",
          `--allow-read=${base}`,
          `--import-map=${hostImportMapUrl([plugin])}`,
          join(plugin, "main.ts"),
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, stderr);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [
        '{"own":true}',
        "denied",
        "denied",
        "denied",
        "denied",
      ]);
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  },
});

Deno.test("import map: a refused import reads as one denial in our terms, naming the path when known", () => {
  // Deno names the import-access denial by host only; its --no-remote error gives the URL,
  // which the worker runtime hands to outsideImportDenial (registry_test covers that path).
  const access = denialInOurTerms(
    `Requires import access to "${DENIED_IMPORT_HOST}:443", run again with the --allow-import flag`,
    "enricher",
  );
  assert.match(access, /^sandbox denied an import from outside the enricher's own folder: /);
  assert.match(access, /read data under a granted path with Deno\.readTextFile, not import/);
  const named = (path: string) =>
    outsideImportDenial("importer", `https://${DENIED_IMPORT_HOST}/${path}`);
  assert.match(
    named("srv/media/%C3%BC%20x.json"),
    /^sandbox denied an import from outside the importer's own folder \('\/srv\/media\/ü x\.json'\): /,
  );
  // As the worker runtime passes it: Deno's whole --no-remote message.
  assert.match(
    outsideImportDenial(
      "importer",
      `A remote specifier was requested: "https://${DENIED_IMPORT_HOST}/srv/x.json", but --no-remote is specified.`,
    ),
    /own folder \('\/srv\/x\.json'\): /,
  );
  // Not valid percent-encoding: shown as it came, never a URIError.
  assert.match(named("srv/100%/x.json"), /\('\/srv\/100%\/x\.json'\)/);
  assert.equal(outsideImportDenial("plugin", "https://elsewhere/x"), outsideImportDenial("plugin"));
  for (const text of [access, named("a.json")]) {
    assert.doesNotMatch(text, /--allow|--no-remote|invalid/, text);
  }
});

Deno.test("import map: each denial module exports every name of the modules it stands for", async () => {
  // Else `import { existsSync } from "node:fs"` fails to link, and the plugin sees a
  // missing-export SyntaxError instead of the denial.
  const stands: Array<[string, string[]]> = [
    ["_denied_module.js", ["node:worker_threads", "node:module"]],
    ["_denied_file_module.js", ["node:fs", "node:fs/promises", "node:sqlite"]],
    [
      "_denied_net_module.js",
      [
        "node:net",
        "node:http",
        "node:https",
        "node:http2",
        "node:dgram",
        "node:tls",
        "node:_http_agent",
        "node:_http_common",
        "node:_http_outgoing",
        "node:_http_server",
        "node:_tls_common",
        "node:_tls_wrap",
      ],
    ],
    ["_denied_process_module.js", ["node:process"]],
  ];
  for (const [file, modules] of stands) {
    const text = Deno.readTextFileSync(new URL(`../registry/${file}`, import.meta.url));
    const exported = new Set([...text.matchAll(/denied as (\w+)/g)].map((m) => m[1]));
    assert.ok(exported.has("default"), `${file} has a default export`);
    for (const specifier of modules) {
      const missing = Object.keys(await import(specifier)).filter((k) => !exported.has(k));
      assert.deepEqual(missing, [], `${file} lacks names of ${specifier}`);
    }
  }
});

Deno.test("import map: Node.js built-ins are an allow-list; every other one is a denial", async () => {
  const { builtinModules } = await import("node:module");
  for (const osIsolation of [false, true]) {
    const { imports } = hostImportMap(["/srv/plugins/acme"], { osIsolation });
    for (const module of builtinModules) {
      const name = module.startsWith("node:") ? module : `node:${module}`;
      const target = imports[name];
      if (target === undefined) {
        // Allowed: a module that computes, or a file module under OS isolation.
        assert.ok(
          /^node:(path|url|util|buffer|events|stream|crypto|zlib|assert|string_decoder|timers|querystring|punycode|perf_hooks|async_hooks|diagnostics_channel|domain|console|constants|os|sys|_stream_)/
            .test(name) ||
            (osIsolation && /^node:(fs|fs\/promises|sqlite)$/.test(name)),
          `${name} is allowed`,
        );
      } else assert.match(target, /\/_denied_[a-z_]*module\.js$/, name);
    }
    for (const name of ["node:repl", "repl", "node:tty", "node:vm", "node:child_process"]) {
      assert.match(imports[name] ?? "", /_denied_builtin_module\.js$/, name);
    }
  }
});

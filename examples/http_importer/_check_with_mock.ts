/**
 * Runs `importer check` on the HTTP example against its mock catalog, for
 * `deno task check-importers`: starts the mock, runs the check (the API key
 * passed through the environment, never on the command line), stops the
 * mock and exits with the check's status.
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-run=deno examples/http_importer/_check_with_mock.ts`
 *
 * @module
 */

import { startMockCatalog } from "./_mock_server.ts";

const KEY_ENV = "RETROVUE_SECRET_HTTP_CATALOG_EXAMPLE";
const MODULE = new URL("./http_catalog.ts", import.meta.url).pathname;

const mock = startMockCatalog();
let code = 1;
try {
  const check = new Deno.Command("deno", {
    args: [
      "task",
      "retrovue",
      "importer",
      "check",
      MODULE,
      "--base-url",
      mock.url,
      "--api-key-env",
      KEY_ENV,
    ],
    env: { [KEY_ENV]: mock.apiKey },
    stdout: "inherit",
    stderr: "inherit",
  });
  code = (await check.output()).code;
} finally {
  await mock.close();
}
Deno.exit(code);

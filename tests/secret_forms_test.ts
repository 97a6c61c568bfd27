/**
 * Tests of the secret scrubber: a secret is masked in every disguise a
 * hostile plugin could give it (case, URL-encoding, base64 at any alignment,
 * hex, reversed), and ordinary text is left alone.
 */

import assert from "node:assert/strict";
import { carriesSecret, MASK, redact, secretForms } from "../core/config.ts";
import { CARRIES_CREDENTIAL, normalizeAsset } from "../ingest/normalize.ts";
import { FAKE_PLUGINS, REPO_ROOT, runCli, tempWorld } from "./_cli.ts";

/** A Plex-like token. */
const TOKEN = "xyzAB12cd34EF56gh78i";

function base64(text: string): string {
  let binary = "";
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

function base64url(text: string): string {
  return base64(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function hex(text: string): string {
  return Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

function reversed(text: string): string {
  return Array.from(text).reverse().join("");
}

Deno.test("redact masks the plain, URL-encoded, case-changed, hex and reversed forms", () => {
  const withSpecials = "pa ss/wörd+Token=1";
  const forms: [string, string, string][] = [
    ["plain", TOKEN, TOKEN],
    ["upper-case", TOKEN, TOKEN.toUpperCase()],
    ["lower-case", TOKEN, TOKEN.toLowerCase()],
    ["URL-encoded", withSpecials, encodeURIComponent(withSpecials)],
    ["URL-encoded, upper-case", withSpecials, encodeURIComponent(withSpecials).toUpperCase()],
    ["hex", TOKEN, hex(TOKEN)],
    ["hex, upper-case", TOKEN, hex(TOKEN).toUpperCase()],
    ["reversed", TOKEN, reversed(TOKEN)],
    ["reversed, upper-case", TOKEN, reversed(TOKEN).toUpperCase()],
  ];
  for (const [what, secret, form] of forms) {
    const text = `GET /library?token=${form}&x=1 failed`;
    assert.equal(redact(text, [secret]), `GET /library?token=${MASK}&x=1 failed`, what);
    assert.ok(carriesSecret(text, [secret]), what);
  }
});

Deno.test("redact masks base64 and base64url of the secret at each byte alignment", () => {
  const cases = [
    TOKEN,
    `user:${TOKEN}`, // HTTP Basic: the secret at the end, after 5 bytes
    `us:${TOKEN}`,
    `u:${TOKEN}`,
    `${TOKEN}:x`, // the secret first, something after it
    `a${TOKEN}:xyz`,
    `ab${TOKEN}!`,
    `plex-${TOKEN}-client-1234`,
  ];
  for (const plain of cases) {
    for (const encoded of [base64(plain), base64url(plain), base64(plain).toLowerCase()]) {
      const text = `Authorization: Basic ${encoded}`;
      const out = redact(text, [TOKEN]);
      assert.ok(out.includes(MASK), `${plain} as ${encoded}`);
      assert.ok(!carriesSecret(out, [TOKEN]), `${plain}: nothing of the secret is left`);
      // What is left is only the few characters that depend on the other bytes.
      const left = out.slice("Authorization: Basic ".length).replace(MASK, "");
      assert.ok(left.length <= encoded.length - 26, `${plain}: left '${left}'`);
      assert.ok(carriesSecret(text, secretForms([TOKEN])));
    }
  }
});

Deno.test("base64 of the secret is found whatever surrounds it", () => {
  // A small deterministic generator: every prefix and suffix length, random bytes.
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const randomText = (n: number) =>
    Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(next() * 95))).join("");
  const forms = secretForms([TOKEN]);
  for (let before = 0; before < 7; before++) {
    for (let after = 0; after < 4; after++) {
      for (let i = 0; i < 5; i++) {
        const plain = randomText(before) + TOKEN + randomText(after);
        assert.ok(carriesSecret(base64(plain), forms), JSON.stringify(plain));
        assert.ok(carriesSecret(base64url(plain), forms), JSON.stringify(plain));
      }
    }
  }
});

Deno.test("ordinary text, short pieces of the secret and other tokens are left alone", () => {
  const texts = [
    "The Simpsons - S01E01 - Simpsons Roasting on an Open Fire.mkv",
    "/data/tv/Breaking Bad/Season 1/Breaking Bad - s01e01.mkv",
    "the server at http://127.0.0.1:32400 refused the token",
    `pieces: ${TOKEN.slice(0, 5)} ${TOKEN.slice(5, 10)} ${TOKEN.slice(-5)}`,
    `another token: ${TOKEN.replace("x", "w")}`,
    `its base64: ${base64(TOKEN.replace("cd", "ce"))}`,
    base64("user:aaaaaaaaaaaaaaaaaaaa"),
    "",
  ];
  const forms = secretForms([TOKEN]);
  for (const text of texts) {
    assert.equal(redact(text, [TOKEN]), text);
    assert.equal(redact(text, forms), text);
    assert.equal(carriesSecret(text, forms), false, text);
  }
});

Deno.test("short secrets: plain and URL-encoded only, exact case; under 3 chars, none", () => {
  assert.equal(redact("key=abc&b=ABC", ["abc"]), `key=${MASK}&b=ABC`);
  assert.equal(redact("k=a%20b%2Fc", ["a b/c"]), `k=${MASK}`);
  assert.equal(redact(`k=${base64("abcde")}`, ["abcde"]), `k=${base64("abcde")}`);
  assert.equal(redact(`k=${reversed("abcde")}`, ["abcde"]), `k=${reversed("abcde")}`);
  assert.equal(redact("ab ab", ["ab"]), "ab ab");
  assert.equal(secretForms(["ab", ""]).size, 0);
  assert.equal(carriesSecret("ab", ["ab"]), false);
});

Deno.test("secrets are matched literally, longest first, and no secrets is a no-op", () => {
  const meta = "a.b*c+d(e)[f]|g$";
  assert.equal(redact(`x ${meta} y`, [meta]), `x ${MASK} y`);
  assert.equal(redact("x aXbbcdde y", [meta]), "x aXbbcdde y", "metacharacters are literal");
  assert.equal(redact("abcdefghijkl", ["abcdefgh", "abcdefghijkl"]), MASK);
  assert.equal(redact("abcdefghijkl", ["abcdefghijkl", "abcdefgh"]), MASK);
  assert.equal(redact("a TOKEN here", []), "a TOKEN here");
  const none = secretForms([]);
  assert.equal(none.size, 0);
  assert.equal(carriesSecret(TOKEN, none), false);
  assert.equal(redact(TOKEN, none), TOKEN);
  assert.equal(
    redact("üñíçødé-secret-1 and ÜÑÍÇØDÉ-SECRET-1", ["üñíçødé-secret-1"]),
    `${MASK} and ${MASK}`,
  );
});

Deno.test("normalizeAsset rejects an item carrying its source's secret, and never repeats it", () => {
  const forms = secretForms([TOKEN]);
  const item = {
    externalId: `ep-${TOKEN}`,
    kind: "episode",
    title: "Pilot",
    seriesTitle: "Show",
    path: "/data/show/pilot.mkv",
  };
  assert.ok(normalizeAsset(item, []).ok, "without secrets the item is fine");
  const out = normalizeAsset(item, [], { secrets: forms });
  assert.deepEqual(out, { ok: false, externalId: `ep-${MASK}`, reason: CARRIES_CREDENTIAL });
  const fields: Record<string, unknown>[] = [
    { title: base64(`x:${TOKEN}`) },
    { seriesTitle: TOKEN.toUpperCase() },
    { path: `/data/${reversed(TOKEN)}.mkv` },
    { parts: ["/data/show/pilot.mkv", `/data/${base64url(TOKEN)}.mkv`] },
    // The path comes from the first part; a part equal to the path is tested once.
    { path: null, parts: [`/data/${TOKEN}.mkv`] },
    { path: `/data/${TOKEN}.mkv`, parts: [`/data/${TOKEN}.mkv`] },
    { externalIds: { plex: `tok-${TOKEN}` } },
    { externalIds: { [hex(TOKEN)]: "1" } },
    { modified: encodeURIComponent(TOKEN) },
  ];
  for (const extra of fields) {
    const outcome = normalizeAsset({ ...item, externalId: "ep-1", ...extra }, [], {
      secrets: forms,
    });
    assert.deepEqual(
      outcome,
      { ok: false, externalId: "ep-1", reason: CARRIES_CREDENTIAL },
      JSON.stringify(extra),
    );
  }
  // A schema-invalid item's id and reason are scrubbed as well.
  const bad = normalizeAsset({ ...item, externalId: TOKEN, season: -1 }, [], { secrets: forms });
  assert.equal(bad.ok, false);
  assert.ok(!carriesSecret(JSON.stringify(bad), forms));
  assert.ok(normalizeAsset({ ...item, externalId: "ep-1" }, [], { secrets: forms }).ok);
});

Deno.test("CLI: collection ingest, source ingest and importer check pass the source's secret", async () => {
  using world = tempWorld();
  const episode = (id: string, n: number, extra: Record<string, unknown> = {}) => ({
    externalId: id,
    kind: "episode",
    title: `Episode ${n}`,
    seriesTitle: "Alpha",
    season: 1,
    episode: n,
    path: `/data/tv/Alpha/S1E${n}.mkv`,
    ...extra,
  });
  const stateFile = world.writeJson("state.json", {
    collections: [
      { externalId: "tv", name: "TV", kind: "shows" },
      { externalId: "mv", name: "Movies", kind: "movies" },
    ],
    assets: {
      tv: [
        episode("e1", 1),
        episode("e2", 2, { title: base64(TOKEN) }),
        episode("e3", 3, { path: `/data/tv/${reversed(TOKEN)}.mkv` }),
      ],
      mv: [
        { externalId: "m1", kind: "movie", title: "Heat", path: "/m/heat.mkv" },
        { externalId: "m2", kind: "movie", title: TOKEN.toUpperCase(), path: "/m/x.mkv" },
      ],
    },
    batchSize: 2,
  });
  const run = async (args: string[]) => {
    const r = await runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS, dataHome: world.dir });
    assert.ok(!carriesSecret(r.stdout + r.stderr, [TOKEN]), r.stdout + r.stderr);
    return r;
  };
  const ok = async (args: string[]) => {
    const r = await run(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r;
  };
  await ok([
    "source",
    "add",
    "--type",
    "fake",
    "--name",
    "Home",
    "--state-file",
    stateFile,
    "--token",
    TOKEN,
    "--discover",
  ]);
  await ok(["collection", "update", "TV", "--sync-enable"]);
  const tv = JSON.parse((await ok(["collection", "ingest", "TV", "--json"])).stdout);
  assert.deepEqual(tv.errors.map((e: { externalId: string }) => e.externalId), ["e2", "e3"]);
  assert.ok(tv.errors.every((e: { message: string }) => e.message === CARRIES_CREDENTIAL));
  await ok(["collection", "update", "Movies", "--sync-enable"]);
  const all = JSON.parse((await ok(["source", "ingest", "Home", "--json"])).stdout);
  const movies = all.collections.find((c: { collectionName: string }) =>
    c.collectionName === "Movies"
  );
  assert.deepEqual(movies.stats.new, 1);
  assert.deepEqual(movies.errors[0].externalId, "m2");
  assert.deepEqual(movies.errors[0].message, CARRIES_CREDENTIAL);

  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(world.db, { readOnly: true });
  try {
    const rows = db.prepare("SELECT * FROM assets ORDER BY external_id").all();
    assert.deepEqual(rows.map((r) => r.external_id), ["e1", "m1"]);
    assert.ok(!carriesSecret(JSON.stringify(rows), [TOKEN]));
  } finally {
    db.close();
  }

  const check = await run([
    "importer",
    "check",
    `${REPO_ROOT}/tests/fixtures/plugins/fake.ts`,
    "--state-file",
    stateFile,
    "--token",
    TOKEN,
    "--collection",
    "tv",
  ]);
  assert.match(check.stdout, /dry-run ingest classified 1 new and 2 invalid asset\(s\)/);
});

Deno.test("test's cheap screen never misses what the forms' RegExps find", () => {
  // `mask` runs the RegExps on every text, unscreened: it is the reference.
  // (No secret here contains `*`, so a masked text always differs.)
  const secrets = [
    TOKEN,
    "0123456789abcdef0123456789ABCDEF", // a Jellyfin-like API key
    "pa ss/wörd+Token=1",
    "üñíçødé-secret-1",
    "µÿßàé-latin1-secret",
    "abcdef", // the shortest secret with derived forms
    "abcde", // exact forms only
    "aBc",
  ];
  let seed = 11;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed % n;
  };
  const odd = [
    "é",
    "🎬",
    "\u212a",
    "\u017f",
    "\u0131",
    "\u0130",
    "\ud800",
    "\u0000",
    "@",
    "[",
    "`",
  ];
  const noise = (n: number) =>
    Array.from(
      { length: n },
      () => next(6) === 0 ? odd[next(odd.length)] : String.fromCharCode(32 + next(95)),
    ).join("");
  const caseMix = (s: string) =>
    Array.from(s, (c) => next(2) ? c.toUpperCase() : c.toLowerCase()).join("");
  const cut = (s: string) => next(3) === 0 ? s.slice(0, s.length - 1 - next(3)) : s;
  for (const secret of secrets) {
    const forms = secretForms([secret]);
    const disguises = [
      () => secret,
      () => caseMix(secret),
      () => encodeURIComponent(secret),
      () => hex(secret),
      () => reversed(secret),
      () => base64(noise(next(4)) + secret + noise(next(3))),
      () => base64url(noise(next(4)) + secret),
      () => caseMix(base64(noise(next(3)) + secret)),
    ];
    let found = 0;
    for (let i = 0; i < 3_000; i++) {
      let text = noise(next(4) === 0 ? next(300) : next(40));
      if (next(4) !== 0) {
        const form = cut(disguises[next(disguises.length)]());
        const at = next(text.length + 1);
        text = text.slice(0, at) + form + text.slice(at);
      }
      const carries = forms.mask(text) !== text;
      if (carries) found++;
      assert.equal(forms.test(text), carries, `${secret} in ${JSON.stringify(text)}`);
    }
    assert.ok(found > 500, `${secret}: the texts carry it often (${found})`);
  }
});

Deno.test("a secret kept with blanks around it is also masked without them", () => {
  const forms = secretForms(["  EnvSecret4567 \t"]);
  assert.equal(redact("trimmed=EnvSecret4567!", forms), "trimmed=***!");
  assert.ok(carriesSecret("x EnvSecret4567 y", forms));
  assert.equal(redact("ab", secretForms([" ab "])), "ab", "too short once trimmed: not a form");
});

/**
 * What the host makes of a huge text from a plugin: an error message, a
 * warning, a skipped item, a log line, a `closed` reason, a denial. A plugin
 * may send 32 MiB per message, as often as it likes; the host reads only a
 * bounded start of each text, shows at most `MAX_SHOWN` characters of it,
 * and no secret survives — not even one the cut would halve.
 *
 * Timing is never asserted: the work is shown bounded by what the scrub
 * hands to the secret masking, and by what the worker sends for a denial.
 */

import assert from "node:assert/strict";
import { configureSync, type LogRecord, resetSync } from "@logtape/logtape";
import { carriesSecret, redact, type SecretForms, secretForms } from "../core/config.ts";
import { validateConfig } from "../core/config.ts";
import { RetrovueError } from "../core/errors.ts";
import { withPluginFolder } from "./_plugin_folder.ts";
import type { PluginNotice, Registry } from "../registry/_types.ts";
import { MAX_READ, MAX_SHOWN, pluginTextScrubber } from "../registry/_client.ts";
import { denialInOurTerms, MAX_DENIAL_TEXT } from "../registry/_harden.ts";
import { MAX_PLUGIN_TEXT } from "../registry/_protocol.ts";

/** A denial in Deno's words that the host rewords some six times longer. */
const UNIT = "Requires a access ";

/** What the host makes of {@link UNIT}. */
const REWORDED = "sandbox denied a access: the importer may not use a access";

/** The size of the huge texts: under the default 32 MiB per message. */
const HUGE = 30_000_000;

/** An ASCII token and a Latin-1 password (its forms are longer than its characters). */
const SECRETS = ["xyzAB12cd34EF56gh78i", "pässwörd-Ünïcode-42"];

/** The most UTF-8 bytes of any of {@link SECRETS}: no form is longer than 4 characters per byte. */
const MAX_SECRET_BYTES = Math.max(...SECRETS.map((s) => new TextEncoder().encode(s).length));

/** Where a cut may fall: from before `MAX_READ` to past the longest form after it. */
const CUTS = { from: MAX_READ - 80, to: MAX_READ + 4 * MAX_SECRET_BYTES + 16 };

/** More than a few KB is not bounded work (the rewording of `MAX_READ` characters is ~25 KB). */
const BOUNDED = 64 * 1024;

/** What a text in the tests starts with. */
const HEAD = "login failed: ";

/** White space of every kind, collapsed to one space when shown. */
const SPACES = " \t\n\r".repeat(HUGE / 4000);

/** The huge denial text, built once (a flat string, as JSON.parse makes it). */
const DENIALS = JSON.parse(JSON.stringify(UNIT.repeat(Math.ceil(HUGE / UNIT.length))));

/**
 * Every form in which `secretForms` looks for `secret`: itself, its case
 * variants, URL-encoded, hex, reversed, and base64 of its UTF-8 bytes in both
 * alphabets at each alignment (the secret's own characters, and the tails).
 */
function _forms(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const binary = String.fromCharCode(...bytes);
  const forms = [
    secret,
    secret.toUpperCase(),
    secret.toLowerCase(),
    encodeURIComponent(secret),
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
    Array.from(secret).reverse().join(""),
  ];
  for (let pad = 0; pad < 3; pad++) {
    const encoded = btoa("\0".repeat(pad) + binary);
    const start = Math.ceil((8 * pad) / 6);
    const end = Math.floor((8 * (pad + bytes.length)) / 6);
    const tail = encoded.slice(start);
    for (const form of [encoded.slice(start, end), tail, tail.replace(/=+$/, "")]) {
      forms.push(form, form.replaceAll("+", "-").replaceAll("/", "_"));
    }
  }
  return [...new Set(forms)];
}

/** `forms` that also note the length of every text they mask. */
function _recording(forms: SecretForms, lengths: number[]): SecretForms {
  return {
    size: forms.size,
    test: (text) => forms.test(text),
    mask(text) {
      lengths.push(text.length);
      return forms.mask(text);
    },
  };
}

/**
 * Fails when `shown` carries any of `forms`, or the start of one where a cut
 * would leave it: after white space (which collapses) or after a mask (a
 * secret masked just before the one the cut halved).
 */
function _assertNoSecret(shown: string, forms: readonly string[], context: string): void {
  assert.ok(!carriesSecret(shown, SECRETS), `a secret in ${context}: ${shown}`);
  const folded = shown.toLowerCase();
  for (const form of forms) {
    const start = form.slice(0, 6).toLowerCase();
    assert.ok(!folded.includes(start), `'${start}' of '${form}' in ${context}: ${shown}`);
    for (const [, after] of folded.matchAll(/[*\s]([^*\s]*)/g)) {
      const part = form.slice(0, 3).toLowerCase();
      assert.ok(!after.startsWith(part), `'${part}' of '${form}' in ${context}: ${shown}`);
    }
  }
}

Deno.test("scrub: an ordinary text is shown as before", () => {
  const forms = secretForms(SECRETS);
  const scrub = pluginTextScrubber(SECRETS, "importer", forms);
  const before = (text: string) =>
    redact(denialInOurTerms(text, "importer"), forms).replace(/\s+/g, " ").trim().slice(0, 1000);
  const texts = [
    "",
    "   ",
    "login failed:\n  token xyzAB12cd34EF56gh78i refused\t(401)",
    'Requires net access to "127.0.0.1:8765", run again with the --allow-net flag',
    "NotCapable: Requires env access, run again with the --allow-env flag",
    `the password ${encodeURIComponent(SECRETS[1])} was refused `,
    "lorem ipsum dolor sit amet, ".repeat(100),
    `${UNIT.repeat(200)}${SECRETS[0]}\u00a0\u2028end`,
    ` ${"a\n\n".repeat(MAX_READ / 3)}`.slice(0, MAX_READ),
  ];
  for (const text of texts) assert.equal(scrub(text), before(text), JSON.stringify(text));
  assert.equal(
    pluginTextScrubber(["s3cr3t-t0ken"], "importer")("login failed:\n  token s3cr3t-t0ken refused"),
    "login failed: token *** refused",
  );
});

Deno.test("scrub: a 30M-character denial text is read only at its start", () => {
  const lengths: number[] = [];
  const scrub = pluginTextScrubber(SECRETS, "importer", _recording(secretForms(SECRETS), lengths));
  const shown = scrub(DENIALS);
  assert.ok(shown.length <= MAX_SHOWN, `${shown.length} characters`);
  assert.ok(shown.startsWith(`${REWORDED} — plugins have no a access`), shown);
  assert.ok(lengths.length > 0 && Math.max(...lengths) <= BOUNDED, `masked ${lengths}`);
  assert.equal(pluginTextScrubber(SECRETS, "enricher")(DENIALS).length, MAX_SHOWN);
});

Deno.test("scrub: a secret halved by the cut is not shown, in any form", () => {
  const scrub = pluginTextScrubber(SECRETS, "importer");
  const tail = UNIT.repeat(1000);
  // Masked secrets and white space before the cut make the text shorter: what the
  // cut leaves of a secret would come into view.
  const masked = SECRETS.join(" ").repeat(10);
  for (const secret of SECRETS) {
    const forms = _forms(secret);
    for (const form of forms) {
      assert.ok(carriesSecret(form, [secret]), `'${form}' is a form secretForms knows`);
      for (let at = CUTS.from; at <= CUTS.to; at++) {
        const start = HEAD + masked;
        const text = start + SPACES.slice(0, at - start.length) + form + tail;
        const shown = scrub(text);
        const context = `'${form}' at ${at}`;
        assert.ok(shown.length <= MAX_SHOWN, context);
        assert.ok(shown.startsWith(`${HEAD}***`), `${context}: ${shown}`);
        _assertNoSecret(shown, forms, context);
      }
    }
  }
});

Deno.test("scrub: a 30M-character text with a secret across the cut shows neither", () => {
  const lengths: number[] = [];
  const scrub = pluginTextScrubber(SECRETS, "importer", _recording(secretForms(SECRETS), lengths));
  const head = UNIT.repeat(5);
  for (const secret of SECRETS) {
    const forms = _forms(secret);
    for (const form of forms) {
      // The form back to back over every place a cut may fall: one copy is halved.
      const copies = form.repeat(Math.ceil((CUTS.to - CUTS.from) / form.length) + 2);
      const start = head + SPACES.slice(0, CUTS.from - head.length) + copies;
      const text = start + DENIALS.slice(start.length);
      assert.equal(text.length, DENIALS.length);
      const shown = scrub(text);
      assert.ok(shown.length <= MAX_SHOWN, `${shown.length} characters`);
      assert.ok(shown.startsWith(REWORDED), shown);
      _assertNoSecret(shown, forms, `'${form}'`);
    }
  }
  assert.ok(Math.max(...lengths) <= BOUNDED, `masked ${Math.max(...lengths)} characters at once`);
});

Deno.test("denialInOurTerms: reads a bounded start of a 30M-character text", () => {
  const reworded = denialInOurTerms(DENIALS, "importer");
  assert.ok(reworded.startsWith(REWORDED), reworded.slice(0, 200));
  assert.ok(reworded.length <= 8 * MAX_DENIAL_TEXT, `${reworded.length} characters`);
  assert.ok(MAX_READ <= MAX_DENIAL_TEXT, "the host's cut is not cut again without its secrets");
});

/**
 * A plugin that sends one huge text as it is told (`mode`), straight to the
 * host as any plugin can: a few denials in Deno's words, white space up to
 * `from`, its token back to back up to `to`, denials up to `size` characters.
 */
const BOUNDARY_PLUGIN = `
const UNIT = ${JSON.stringify(UNIT)};

function text(config) {
  const [from, to, size] = String(config.layout).split(":").map(Number);
  const head = UNIT.repeat(5);
  const spaces = " \\t\\n\\r".repeat(Math.ceil(from / 4)).slice(0, from - head.length);
  const token = String(config.token);
  const start = head + spaces + token.repeat(Math.ceil((to - from) / token.length) + 2);
  return start + UNIT.repeat(Math.ceil((size - start.length) / UNIT.length));
}

function post(message) {
  globalThis.postMessage(JSON.stringify(message));
}

export default {
  typeId: "boundary",
  displayName: "Boundary",
  params: [
    { name: "mode", flag: "--mode", kind: "string", required: true, description: "What to send" },
    { name: "layout", flag: "--layout", kind: "string", required: true, description: "from:to:size" },
    { name: "token", flag: "--token", kind: "string", required: true, secret: true, description: "A token" },
  ],
  capabilities: { filters: {} },
  validateConnection(config) {
    const huge = text(config);
    const half = huge.slice(0, huge.length / 2);
    switch (config.mode) {
      case "not-capable":
        throw new Deno.errors.NotCapable(huge);
      case "error":
        post({ t: "error", id: 1, error: { code: "AUTH_FAILED", message: huge } });
        break;
      case "warn":
        post({ t: "result", id: 1, value: {}, notices: [{ kind: "warn", message: huge }] });
        break;
      case "skipped":
        post({ t: "result", id: 1, value: {}, notices: [{ kind: "skipped", item: half, reason: half }] });
        break;
      case "log":
        post({ t: "log", level: "error", message: huge });
        post({ t: "result", id: 1, value: {} });
        break;
      case "closed":
        post({ t: "closed", reason: huge });
        break;
    }
    return new Promise(() => {});
  },
  listCollections() {
    return Promise.resolve([]);
  },
  async *fetchAssets() {},
};
`;

/** The token the plugin halves at the cut. */
const TOKEN = SECRETS[0];

interface Sent {
  error?: RetrovueError;
  notices: PluginNotice[];
  logs: string[];
}

/** Opens the boundary plugin, runs `validateConnection` in `mode`, and gathers what the host shows. */
async function _send(registry: Registry, mode: string, size = HUGE): Promise<Sent> {
  const info = registry.get("boundary");
  assert.ok(info, "the boundary plugin loads");
  const layout = `${CUTS.from}:${CUTS.to}:${size}`;
  const config = validateConfig(info.manifest.params, { mode, layout, token: TOKEN }, {
    cwd: "/",
  });
  const sent: Sent = { notices: [], logs: [] };
  configureSync({
    sinks: { memory: (r: LogRecord) => sent.logs.push(r.message.join("")) },
    loggers: [
      { category: ["retrovue", "plugin"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  const client = await registry.open("boundary", config, { timeoutMs: 60_000 });
  try {
    await client.validateConnection({ onNotice: (n) => sent.notices.push(n) });
  } catch (error) {
    assert.ok(error instanceof RetrovueError, `expected a RetrovueError, got ${error}`);
    sent.error = error;
  } finally {
    resetSync();
    await client.close();
  }
  return sent;
}

/** Fails unless `shown` is bounded, starts with the reworded denials and carries no token. */
function _assertShown(shown: string, prefix: string, context: string): void {
  assert.ok(shown.length <= prefix.length + MAX_SHOWN, `${context}: ${shown.length} characters`);
  assert.ok(shown.startsWith(prefix + REWORDED), `${context}: ${shown.slice(0, 200)}`);
  _assertNoSecret(shown, _forms(TOKEN), context);
}

Deno.test({
  name: "plugin host: 30M-character texts are shown bounded, without a halved token",
  async fn(t) {
    const label = "importer 'boundary' ";
    await withPluginFolder({ "boundary.js": BOUNDARY_PLUGIN }, async (registry) => {
      await t.step("an error message", async () => {
        const { error } = await _send(registry, "error");
        assert.ok(error);
        assert.equal(error.code, "AUTH_FAILED");
        _assertShown(error.message, "", "error");
      });
      await t.step("a warning", async () => {
        const { error, notices } = await _send(registry, "warn");
        assert.equal(error, undefined);
        assert.equal(notices.length, 1);
        assert.equal(notices[0].kind, "warn");
        if (notices[0].kind === "warn") _assertShown(notices[0].message, "", "warning");
      });
      await t.step("a skipped item and its reason", async () => {
        const { notices } = await _send(registry, "skipped");
        assert.equal(notices.length, 1);
        assert.equal(notices[0].kind, "skipped");
        if (notices[0].kind === "skipped") {
          _assertShown(notices[0].item, "", "skipped item");
          _assertShown(notices[0].reason, "", "skipped reason");
        }
      });
      await t.step("a log line, and the denial it reports", async () => {
        const { error, notices, logs } = await _send(registry, "log");
        assert.equal(error, undefined);
        assert.equal(logs.length, 1, logs.join("\n").slice(0, 500));
        _assertShown(logs[0], "", "log line");
        assert.equal(notices.length, 1);
        if (notices[0].kind === "warn") _assertShown(notices[0].message, "logged: ", "notice");
      });
      await t.step("a closed reason", async () => {
        const { error } = await _send(registry, "closed");
        assert.ok(error);
        assert.equal(error.code, "PLUGIN_CRASHED");
        _assertShown(error.message, `${label}crashed: `, "closed");
      });
      await t.step("a denial the plugin throws is cut in the worker too", async () => {
        // Reworded whole in the worker, 8M characters would be a ~48 MB message: over the limit.
        const { error } = await _send(registry, "not-capable", 8_000_000);
        assert.ok(error);
        assert.equal(error.code, "PERMISSION_DENIED", error.message.slice(0, 200));
        _assertShown(error.message, "", "denial");
      });
    });
  },
});

/**
 * A plugin that puts its token across every place the worker runtime or the
 * plugin host cuts a text: a warning, a skipped item, a skip's reason, a log
 * line, a thrown error (cut at `MAX_PLUGIN_TEXT`, or 200 for a reason), and an
 * uncaught error (cut at 500 by the plugin host). White space before it
 * collapses when shown, which would bring what a cut leaves of it into view.
 */
const HALVES_PLUGIN = `
const CUT = ${MAX_PLUGIN_TEXT};
export default {
  typeId: "halves",
  displayName: "Halves",
  params: [
    { name: "mode", flag: "--mode", kind: "string", required: true, description: "What to do" },
    { name: "token", flag: "--token", kind: "string", required: true, secret: true, description: "A token" },
  ],
  capabilities: { filters: {} },
  validateConnection(config, context) {
    const token = String(config.token);
    const around = (cut) => {
      const texts = [];
      for (let at = cut - token.length + 1; at < cut; at++) texts.push(" ".repeat(at) + token + " end");
      return texts;
    };
    if (config.mode === "uncaught") {
      setTimeout(() => { throw new Error("-".repeat(480) + token); });
      return new Promise(() => {});
    }
    for (const text of around(CUT)) {
      context.warn(text);
      context.skipped(text, "why");
      console.error(text);
    }
    for (const text of around(200)) context.skipped("item", text);
    throw new Error(around(CUT)[3]);
  },
  listCollections() { return []; },
  async *fetchAssets() {},
};
`;

Deno.test("plugin host: a token the worker runtime or the plugin host cut in half is not shown", async () => {
  await withPluginFolder({ "halves.js": HALVES_PLUGIN }, async (registry) => {
    const info = registry.get("halves");
    assert.ok(info, "the halves plugin loads");
    const run = async (mode: string) => {
      const config = validateConfig(info.manifest.params, { mode, token: TOKEN }, { cwd: "/" });
      const shown: string[] = [];
      configureSync({
        sinks: { memory: (r: LogRecord) => shown.push(r.message.join("")) },
        loggers: [
          { category: ["retrovue", "plugin"], lowestLevel: "debug", sinks: ["memory"] },
          { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
        ],
      });
      const client = await registry.open("halves", config, { timeoutMs: 60_000 });
      try {
        await client.validateConnection({
          onNotice: (n) => {
            if (n.kind === "warn") shown.push(n.message);
            if (n.kind === "skipped") shown.push(n.item, n.reason);
          },
        });
        assert.fail("the plugin throws");
      } catch (error) {
        assert.ok(error instanceof RetrovueError, `expected a RetrovueError, got ${error}`);
        shown.push(error.message);
      } finally {
        resetSync();
        await client.close();
      }
      return shown;
    };
    const all = await run("cut");
    const halves = TOKEN.length - 1;
    // Each kind of text, once per place of the token across the cut, and the thrown error.
    assert.ok(all.length >= 4 * halves + 1, `${all.length} texts`);
    const uncaught = await run("uncaught");
    assert.ok(uncaught.some((s) => s.includes("crashed")), uncaught.join("\n"));
    for (const text of [...all, ...uncaught]) {
      assert.ok(!text.includes(TOKEN.slice(0, 3)), `part of the token shown: ${text}`);
    }
    assert.ok(all.some((s) => s.endsWith("…")), "a cut text says it was cut");
  });
});

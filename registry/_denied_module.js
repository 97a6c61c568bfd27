// What the plugin host's import map puts in place of Node.js modules that would
// get around the worker hardening (node:worker_threads starts workers the
// runtime cannot harden; node:module's require loads them anyway). Importing it
// is a sandbox denial; plugins start helper workers with the global `Worker`.
throw new Deno.errors.NotCapable(
  "this Node.js module is not available to plugins (start helper workers with Worker)",
);

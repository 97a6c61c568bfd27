// What the plugin host's import map puts in place of Node.js modules that open
// files by path (node:fs, node:sqlite) when no OS isolation hides what lies
// outside the granted paths: they would follow a symlink inside a granted
// folder anywhere, and unlike Deno's own file APIs they cannot be checked.
// Importing it is a sandbox denial; under OS isolation the real modules load.
throw new Deno.errors.NotCapable(
  "node:fs and node:sqlite are not available to plugins without OS isolation " +
    "(read files with Deno.readFile and friends, which are checked for links out)",
);

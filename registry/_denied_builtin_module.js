// What the plugin host's import map puts in place of every other Node.js
// built-in a plugin has no use for (node:repl, node:tty, node:vm, node:v8,
// node:child_process, node:dns…): the map lets plugins import an allow-list
// of built-ins that compute (node:path, node:util, node:buffer, node:events,
// node:stream, node:crypto…), since the rest keep turning up ways around the
// worker hardening (node:repl's require ignores the map; node:tty's streams
// are sockets that listen). Importing it is a sandbox denial. A named import
// from it fails to link instead, a denial all the same.
const denied = undefined;
export default denied;
throw new Deno.errors.NotCapable(
  "this Node.js module is not available to plugins (they may import node:path, node:url, " +
    "node:util, node:buffer, node:events, node:stream, node:crypto, node:zlib and other " +
    "built-ins that compute; see docs/importers.md)",
);

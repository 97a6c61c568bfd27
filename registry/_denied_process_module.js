// What the plugin host's import map puts in place of node:process: its named
// export getBuiltinModule is the original, which the worker hardening cannot
// replace (it replaces the global process object's), and it hands out any
// built-in module past the import map, node:worker_threads included. Importing
// it is a sandbox denial; the global `process` is the same object, hardened.
// It exports every name of the modules it stands for (tests/import_map_test.ts
// keeps the list whole), so that a named import links and the plugin gets the
// denial below, not a missing-export SyntaxError.
const denied = undefined;
export {
  denied as abort,
  denied as allowedNodeEnvironmentFlags,
  denied as arch,
  denied as argv,
  denied as argv0,
  denied as availableMemory,
  denied as chdir,
  denied as constrainedMemory,
  denied as cpuUsage,
  denied as cwd,
  denied as default,
  denied as dlopen,
  denied as emitWarning,
  denied as env,
  denied as execArgv,
  denied as execPath,
  denied as exit,
  denied as getActiveResourcesInfo,
  denied as getBuiltinModule,
  denied as getegid,
  denied as geteuid,
  denied as getgid,
  denied as getuid,
  denied as hrtime,
  denied as kill,
  denied as loadEnvFile,
  denied as memoryUsage,
  denied as nextTick,
  denied as pid,
  denied as platform,
  denied as ppid,
  denied as removeAllListeners,
  denied as removeListener,
  denied as report,
  denied as resourceUsage,
  denied as setegid,
  denied as seteuid,
  denied as setgid,
  denied as setuid,
  denied as stderr,
  denied as stdin,
  denied as stdout,
  denied as threadCpuUsage,
  denied as umask,
  denied as version,
  denied as versions,
};
throw new Deno.errors.NotCapable(
  "node:process is not available to plugins (use the global process, which is the same " +
    "object)",
);

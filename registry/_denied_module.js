// What the plugin host's import map puts in place of Node.js modules that would
// get around the worker hardening (node:worker_threads starts workers the
// runtime cannot harden; node:module's require loads them anyway). Importing it
// is a sandbox denial; plugins start helper workers with the global `Worker`.
// It exports every name of the modules it stands for (tests/import_map_test.ts
// keeps the list whole), so that a named import links and the plugin gets the
// denial below, not a missing-export SyntaxError.
const denied = undefined;
export {
  denied as _cache,
  denied as _extensions,
  denied as _findPath,
  denied as _initPaths,
  denied as _load,
  denied as _nodeModulePaths,
  denied as _pathCache,
  denied as _preloadModules,
  denied as _resolveFilename,
  denied as _resolveLookupPaths,
  denied as _stat,
  denied as BroadcastChannel,
  denied as builtinModules,
  denied as createRequire,
  denied as default,
  denied as findPackageJSON,
  denied as findSourceMap,
  denied as getBuiltinModule,
  denied as getEnvironmentData,
  denied as globalPaths,
  denied as isBuiltin,
  denied as isInternalThread,
  denied as isMainThread,
  denied as isMarkedAsUntransferable,
  denied as locks,
  denied as markAsUncloneable,
  denied as markAsUntransferable,
  denied as MessageChannel,
  denied as MessagePort,
  denied as Module,
  denied as moveMessagePortToContext,
  denied as parentPort,
  denied as postMessageToThread,
  denied as receiveMessageOnPort,
  denied as register,
  denied as registerHooks,
  denied as resourceLimits,
  denied as runMain,
  denied as setEnvironmentData,
  denied as SHARE_ENV,
  denied as SourceMap,
  denied as stripTypeScriptTypes,
  denied as syncBuiltinESMExports,
  denied as threadId,
  denied as threadName,
  denied as Worker,
  denied as workerData,
  denied as wrap,
};
throw new Deno.errors.NotCapable(
  "this Node.js module is not available to plugins (start helper workers with Worker)",
);

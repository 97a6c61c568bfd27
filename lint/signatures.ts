/**
 * A `deno lint` plugin holding the house signature rule: an exported
 * function takes at most two positional parameters, then (optionally) one
 * options object. Wired in through `lint.plugins` in `deno.json`, so
 * `deno lint` (and `deno task ok`) report a function that drifts back.
 *
 * Rule `retrovue/max-two-positional` reports an exported function (a
 * function declaration, or a `const` holding an arrow or function
 * expression) with four or more parameters, or with a third parameter that
 * is plainly not an object: a primitive, an array, a function, a `Date`
 * (pass the clock as `now: () => Date` in the options instead) and the like.
 * A third parameter whose type is an object literal or a named type is
 * taken for an options object; the linter sees no types across modules.
 *
 * @module
 */

/** Type names that are never an options object. */
const NOT_OPTIONS = new Set([
  "Date",
  "URL",
  "Request",
  "Response",
  "RegExp",
  "Map",
  "ReadonlyMap",
  "Set",
  "ReadonlySet",
  "Array",
  "ReadonlyArray",
  "Promise",
  "Uint8Array",
  "Function",
  "AbortSignal",
]);

/** Type node kinds that are never an options object. */
const NOT_OPTIONS_KINDS = new Set([
  "TSStringKeyword",
  "TSNumberKeyword",
  "TSBooleanKeyword",
  "TSBigIntKeyword",
  "TSSymbolKeyword",
  "TSUndefinedKeyword",
  "TSNullKeyword",
  "TSLiteralType",
  "TSTemplateLiteralType",
  "TSArrayType",
  "TSTupleType",
  "TSFunctionType",
  "TSConstructorType",
]);

/** Why a parameter's type is not an options object, or null when it may be one. */
function _notOptions(type: Deno.lint.TypeNode | undefined): string | null {
  if (!type) return "it has no type";
  if (NOT_OPTIONS_KINDS.has(type.type)) return "it is not an object";
  if (type.type === "TSTypeOperator") return _notOptions(type.typeAnnotation);
  if (type.type === "TSUnionType") {
    const parts = type.types.filter((t) =>
      t.type !== "TSUndefinedKeyword" && t.type !== "TSNullKeyword"
    );
    for (const t of parts) {
      const why = _notOptions(t);
      if (why) return why;
    }
    return null;
  }
  if (type.type === "TSTypeReference" && type.typeName.type === "Identifier") {
    return NOT_OPTIONS.has(type.typeName.name) ? `it is a ${type.typeName.name}` : null;
  }
  return null;
}

/** The type annotation of a parameter (through a default value), if any. */
function _paramType(param: Deno.lint.Parameter): Deno.lint.TypeNode | undefined {
  const target = param.type === "AssignmentPattern" ? param.left : param;
  if (target.type === "RestElement") return undefined;
  if (target.type === "TSParameterProperty") return undefined;
  return target.typeAnnotation?.typeAnnotation;
}

function _check(
  context: Deno.lint.RuleContext,
  node: Deno.lint.Node,
  fn: { params: Deno.lint.Parameter[] },
  name: string,
): void {
  const params = fn.params;
  if (params.length <= 2) return;
  if (params.length > 3) {
    context.report({
      node,
      message: `exported function '${name}' takes ${params.length} parameters; ` +
        "the house rule is at most two positional parameters, then an options object",
      hint: "fold the extra parameters into named fields of an options object",
    });
    return;
  }
  const third = params[2];
  if (third.type === "RestElement") {
    context.report({
      node,
      message: `exported function '${name}' takes a rest parameter after two positionals`,
      hint: "take the list as a field of an options object",
    });
    return;
  }
  const why = _notOptions(_paramType(third));
  if (why === null) return;
  context.report({
    node,
    message: `the third parameter of exported function '${name}' is not an options object ` +
      `(${why})`,
    hint: "move it into a named field of an options object (a clock is `now: () => Date`)",
  });
}

const plugin: Deno.lint.Plugin = {
  name: "retrovue",
  rules: {
    "max-two-positional": {
      create(context) {
        return {
          ExportNamedDeclaration(node) {
            const d = node.declaration;
            if (d?.type === "FunctionDeclaration" && d.id) {
              _check(context, d, d, d.id.name);
            } else if (d?.type === "VariableDeclaration") {
              for (const v of d.declarations) {
                const init = v.init;
                if (
                  v.id.type === "Identifier" &&
                  (init?.type === "ArrowFunctionExpression" ||
                    init?.type === "FunctionExpression")
                ) {
                  _check(context, v, init, v.id.name);
                }
              }
            }
          },
          ExportDefaultDeclaration(node) {
            const d = node.declaration;
            if (d.type === "FunctionDeclaration") _check(context, d, d, d.id?.name ?? "default");
          },
        };
      },
    },
  },
};

export default plugin;

/// <reference lib="deno.unstable" />
/**
 * A `deno lint` plugin holding the code to the house rule of small modules: no source file over
 * 400 lines and no function (declaration, expression, arrow or method) over 60. Enabled in
 * deno.json, so `deno task check` fails on a breach.
 *
 * Held: `main.ts`, `lib/`, `bench/`, `tools/`, `examples/`. Not held: generated modules (the
 * embedded page and the confusables table) and, for now, `tests/`, whose contract suites are
 * long lists of cases.
 *
 * @module
 */

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 60;
const HELD = /(^|\/)(main\.ts$|lib\/|bench\/|tools\/|examples\/)/;
const GENERATED = /(^|\/)lib\/(web\/assets\.ts|users\/confusables_data\.ts)$/;

/** Lines spanned by `text` from `start` to `end` (both ends counted). */
function linesBetween(text: string, start: number, end: number): number {
  let lines = 1;
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === 10) lines++;
  return lines;
}

/** Whether the rule holds for `filename` (a path or file URL). */
function isHeld(filename: string): boolean {
  const path = filename.replaceAll("\\", "/");
  return HELD.test(path) && !GENERATED.test(path) && !path.includes("/tests/");
}

const plugin: Deno.lint.Plugin = {
  name: "house",
  rules: {
    "max-function-lines": {
      create(context) {
        if (!isHeld(context.filename)) return {};
        const check = (node: Deno.lint.Node) => {
          const lines = linesBetween(context.sourceCode.text, node.range[0], node.range[1]);
          if (lines <= MAX_FUNCTION_LINES) return;
          context.report({
            node,
            message:
              `This function is ${lines} lines long; split it (at most ${MAX_FUNCTION_LINES})`,
          });
        };
        return {
          FunctionDeclaration: check,
          FunctionExpression: check,
          ArrowFunctionExpression: check,
        };
      },
    },
    "max-file-lines": {
      create(context) {
        if (!isHeld(context.filename)) return {};
        return {
          Program(node) {
            const text = context.sourceCode.text;
            const lines = linesBetween(text, 0, text.trimEnd().length);
            if (lines <= MAX_FILE_LINES) return;
            context.report({
              node,
              message: `This module is ${lines} lines long; split it (at most ${MAX_FILE_LINES})`,
            });
          },
        };
      },
    },
  },
};

export default plugin;

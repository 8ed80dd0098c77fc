// deno-fmt-ignore-file
// deno-lint-ignore-file
// @ts-nocheck
// A user plugin with a syntax error. It is an early error that V8 reports as a SyntaxError when the module is
// loaded, but that the formatter, linter and type checker of this repo can be told to ignore (a parse error
// such as `let x = ;` would break `deno fmt/lint/check` on src/; the tests also generate one of those).
let a = 1;
let a = 2;
export default () => ({ apiVersion: 1, id: "syntax", filter: () => a > 0 });

import assert from "node:assert/strict";
import { join } from "node:path";
import { checkImports, findImports } from "./imports.ts";

const specs = (src: string) => findImports(src).map((f) => f.specifier);

Deno.test("findImports: static, re-exports, dynamic; type-only, strings, comments and regexes are not imports", () => {
  assert.deepEqual(
    specs(`
      import a from "./a.ts"; import { b, c as d } from './b.ts'; import "./side.js";
      import * as ns from "node:path"; export { x } from "./x.ts"; export * from "./y.ts";
      import type { T } from "../outside/types.ts"; import { type U, type V } from "../outside/u.ts";
      export type { W } from "../outside/w.ts";
      // import z from "npm:commented";
      /* import("https://in.a.comment/") */
      const s = "import q from 'npm:in-a-string'"; const important = "./not-an-import";
      const re = /import("x")/g; const t = \`import(\${1})\`;
      await import("./lazy.ts"); import.meta.url; import.meta.resolve("./r.ts");
    `),
    ["./a.ts", "./b.ts", "./side.js", "node:path", "./x.ts", "./y.ts", "./lazy.ts", "./r.ts"],
  );
  assert.deepEqual(specs(`const m = "npm:left-pad"; await import(m);`), [null]);
  assert.deepEqual(specs("await import(`./a${1}.ts`);"), [null]);
  assert.deepEqual(specs("await import(`./a.ts`);"), ["./a.ts"]);
});

Deno.test("checkImports: local files under the folder, data: and node: only; one line naming the specifier", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-imports-" });
  try {
    const write = (name: string, text: string) => Deno.writeTextFileSync(join(dir, name), text);
    write("helper.ts", `export const h = 1;`);
    write(
      "ok.ts",
      `import { h } from "./helper.ts"; import "node:path"; import "data:text/javascript,export%20default%201";`,
    );
    assert.deepEqual(await checkImports(join(dir, "ok.ts"), dir), [
      join(dir, "ok.ts"),
      join(dir, "helper.ts"),
    ]);
    const refused: [string, RegExp][] = [
      [`await import("npm:left-pad");`, /import of "npm:left-pad" is refused/],
      [`import x from "jsr:@std/path";`, /import of "jsr:@std\/path" is refused/],
      [`import x from "https://example.com/x.js";`, /import of "https:\/\/example.com\/x.js" is refused/],
      [`import x from "left-pad";`, /import of "left-pad" is refused/],
      [`import x from "file:///etc/passwd";`, /outside the plugin's folder/],
      [`import x from "../escape.ts";`, /outside the plugin's folder/],
      [`import "node:vm";`, /import of node:vm is refused/],
      [`const u = "npm:x"; await import(u);`, /computed specifier/],
      [`import "data:text/javascript,import%20'npm:evil'";`, /import of "npm:evil" is refused/],
    ];
    for (const [src, pattern] of refused) {
      write("bad.ts", src);
      await assert.rejects(() => checkImports(join(dir, "bad.ts"), dir), (err: Error) => {
        assert.match(err.message, pattern);
        assert.ok(!err.message.includes("\n"));
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

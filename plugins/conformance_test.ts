/**
 * Every built-in follows the same shape: a folder `plugins/<id>/` with `mod.ts` (default-exports the factory),
 * `README.md` and `mod_test.ts`, listed in the registry (`plugins/mod.ts`) under the folder's name, and the
 * plugin object it makes carries that id and the current API version.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { PLUGIN_API_VERSION } from "../src/plugin/api.ts";
import { builtinPlugins } from "./mod.ts";

const root = fileURLToPath(new URL(".", import.meta.url));

/** Options that let each built-in construct (the others need none). */
const minimalOptions: Record<string, Record<string, unknown>> = {
  webhook: { url: "http://127.0.0.1:9/" },
  exec: { command: ["true"] },
  syslog: { url: "udp://127.0.0.1:9" },
  otlp: { endpoint: "http://127.0.0.1:9" },
};

const folders: string[] = [];
for (const entry of Deno.readDirSync(root)) if (entry.isDirectory) folders.push(entry.name);
folders.sort();

Deno.test("every folder under plugins/ is a registered built-in with README.md and mod_test.ts", async () => {
  assert.ok(folders.length > 0);
  for (const folder of folders) {
    assert.ok(builtinPlugins.has(folder), `plugins/${folder}/ is not listed in plugins/mod.ts`);
    for (const file of ["mod.ts", "README.md", "mod_test.ts"]) {
      const info = await Deno.stat(join(root, folder, file)).catch(() => null);
      assert.ok(info?.isFile, `plugins/${folder}/${file} is missing`);
    }
    const readme = await Deno.readTextFile(join(root, folder, "README.md"));
    assert.match(
      readme,
      new RegExp(`^# \`${folder}\``),
      `plugins/${folder}/README.md must start with "# \`${folder}\`"`,
    );
    const mod = await import(`./${folder}/mod.ts`);
    assert.equal(
      mod.default,
      builtinPlugins.get(folder)!.factory,
      `plugins/mod.ts must use ${folder}/mod.ts's default export`,
    );
  }
});

Deno.test("every registered built-in has a folder, and makes a plugin with its own id", () => {
  for (const [id, builtin] of builtinPlugins) {
    assert.equal(builtin.id, id);
    assert.ok(folders.includes(id), `${id} has no folder plugins/${id}/`);
    assert.ok(builtin.summary.length > 0 && !builtin.summary.includes("\n"));
    const plugin = builtin.factory(minimalOptions[id] ?? {});
    assert.equal(plugin.id, id);
    assert.equal(plugin.apiVersion, PLUGIN_API_VERSION);
  }
});

/**
 * The log directory the monitor creates itself (lab only): CreateDirectoryW with the protected DACL's
 * SECURITY_ATTRIBUTES creates it (and its parents), an existing directory is left as it is.
 *
 * Wine does NOT store the security descriptor passed to CreateDirectoryW: reading it back gives wine's own
 * default (owner the unix user, SYSTEM and that user; measured), so the DACL itself is checked against the
 * documentation only (SECURITY_ATTRIBUTES, the SDDL format) and its text is pinned to install.ps1's
 * (src/service/event_source_test.ts). The test logs what wine reports.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createProtectedDirectory, securityDescriptorText } from "../../src/platform/windows/private_dir.ts";
import { ignore } from "./lab_util.ts";

Deno.test(
  {
    name: "private dir: created with its security attributes in one step; an existing one is left alone",
    ignore,
  },
  async () => {
    const tmp = await Deno.makeTempDir({ prefix: "pr-acl-" });
    try {
      const dir = join(tmp, "nested", "Port Reporter logs");
      assert.equal(createProtectedDirectory(dir), true);
      assert.ok(Deno.statSync(dir).isDirectory);
      const sddl = securityDescriptorText(dir);
      console.log(`created: ${sddl}`);
      assert.ok(sddl, "the security descriptor reads back");
      // files created inside can be written and read back
      Deno.writeTextFileSync(join(dir, "PR-PORTS.log"), "x");
      assert.equal(Deno.readTextFileSync(join(dir, "PR-PORTS.log")), "x");
      // an existing directory is not touched
      const before = securityDescriptorText(tmp);
      assert.equal(createProtectedDirectory(tmp), false);
      assert.equal(securityDescriptorText(tmp), before);
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);

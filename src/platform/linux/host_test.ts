import assert from "node:assert/strict";
import { formatLinuxOsName, parseOsReleasePrettyName, readLinuxHostInfo } from "./host.ts";

Deno.test("host: PRETTY_NAME parsing and the OS name", () => {
  const text = 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n';
  assert.equal(parseOsReleasePrettyName(text), "Debian GNU/Linux 12 (bookworm)");
  assert.equal(parseOsReleasePrettyName("PRETTY_NAME=Alpine\n"), "Alpine");
  assert.equal(parseOsReleasePrettyName('PRETTY_NAME="say \\"hi\\""'), 'say "hi"');
  assert.equal(parseOsReleasePrettyName("ID=x\n"), undefined);
  assert.equal(
    formatLinuxOsName("6.1.0-18-amd64", "Debian GNU/Linux 12 (bookworm)"),
    "Linux 6.1.0-18-amd64 (Debian GNU/Linux 12 (bookworm))",
  );
  assert.equal(formatLinuxOsName("6.1.0"), "Linux 6.1.0");
});

Deno.test("host: this machine", () => {
  const info = readLinuxHostInfo();
  assert.equal(info.computerName, Deno.hostname());
  assert.ok(info.osName.startsWith(`Linux ${Deno.osRelease()}`), info.osName);
  assert.equal(readLinuxHostInfo(["/nonexistent/os-release"]).osName, `Linux ${Deno.osRelease()}`);
});

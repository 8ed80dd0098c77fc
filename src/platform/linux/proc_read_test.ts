import assert from "node:assert/strict";
import { decodeBytes, encodeText } from "../../model/text.ts";
import { readFileHead, readLinkBytes, utf8BoundaryLength } from "./proc_read.ts";
import { MAX_COMMAND_LINE_BYTES, ProcessInfoReader, readCommandLine } from "./process.ts";
import { parseProcMapsBounded } from "./proc_parse.ts";
import type { WarningCounts } from "./warnings.ts";

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p));

Deno.test("readLinkBytes: a link target that is not UTF-8 comes back byte for byte", () => {
  const dir = Deno.makeTempDirSync({ prefix: "portreporter-link-" });
  try {
    const target = bytes("/tmp/py", [0xff, 0x0a, 0x2c], "x");
    // Made by the shell: Deno cannot pass such bytes as an argument.
    const link = `${dir}/link`;
    const sh = new Deno.Command("sh", {
      args: ["-c", `ln -s "$(printf '/tmp/py\\377\\n,x')" "$1"`, "sh", link],
    }).outputSync();
    assert.equal(sh.code, 0);
    assert.throws(() => Deno.readLinkSync(link)); // what blinded every poll
    assert.deepEqual(readLinkBytes(link), target);
    assert.throws(() => readLinkBytes(`${dir}/missing`), Deno.errors.NotFound);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("readFileHead: at most the cap; the rest counted only when asked", () => {
  const dir = Deno.makeTempDirSync({ prefix: "portreporter-head-" });
  try {
    const data = new Uint8Array(200_000).map((_, i) => i & 0xff);
    Deno.writeFileSync(`${dir}/f`, data);
    const counted = readFileHead(`${dir}/f`, 70_000, true);
    assert.deepEqual(counted.bytes, data.subarray(0, 70_000));
    assert.equal(counted.restBytes, 130_000);
    const bounded = readFileHead(`${dir}/f`, 70_000);
    assert.deepEqual(bounded.bytes, data.subarray(0, 70_000));
    assert.ok(bounded.restBytes > 0 && bounded.restBytes <= 130_000);
    assert.deepEqual(readFileHead(`${dir}/f`, 300_000), { bytes: data, restBytes: 0 });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("utf8BoundaryLength: an incomplete last character is dropped, bad bytes are kept", () => {
  assert.equal(utf8BoundaryLength(bytes("ab")), 2);
  assert.equal(utf8BoundaryLength(bytes("a", [0xe2, 0x82])), 1); // € cut after 2 of 3 bytes
  assert.equal(utf8BoundaryLength(bytes("a", [0xe2, 0x82, 0xac])), 4); // complete
  assert.equal(utf8BoundaryLength(bytes("a", [0xf0, 0x9f, 0x98])), 1);
  assert.equal(utf8BoundaryLength(bytes("a", [0xff])), 2); // not UTF-8 at all: a byte of its own
  assert.equal(utf8BoundaryLength(bytes([0x80, 0x80, 0x80, 0x80])), 4);
});

Deno.test("readCommandLine: the first 32 KB, redacted, then a marker with the exact count cut", () => {
  const dir = Deno.makeTempDirSync({ prefix: "portreporter-cmdline-" });
  try {
    const arg = "a.".repeat(65535);
    const argv = ["prog", "--password=hunter2", ...Array(8).fill(arg)];
    const raw = new TextEncoder().encode(argv.join("\0") + "\0");
    Deno.writeFileSync(`${dir}/cmdline`, raw);
    const line = readCommandLine(`${dir}/cmdline`)!;
    const cut = raw.length - MAX_COMMAND_LINE_BYTES;
    assert.ok(line.endsWith(`…[cut ${cut} bytes]`), line.slice(-40));
    assert.ok(line.startsWith("prog --password=*** a.a."));
    assert.ok(!line.includes("hunter2"));

    // A command line that is not UTF-8, with a euro sign across the cap: no broken character.
    const head = new Uint8Array(MAX_COMMAND_LINE_BYTES - 1).fill(0x61);
    head[0] = 0xff;
    Deno.writeFileSync(`${dir}/cmdline`, Uint8Array.from([...head, 0xe2, 0x82, 0xac, 0x62]));
    const odd = readCommandLine(`${dir}/cmdline`)!;
    assert.equal(odd, "\udcff" + "a".repeat(MAX_COMMAND_LINE_BYTES - 2) + "…[cut 4 bytes]");
    Deno.writeFileSync(`${dir}/cmdline`, new Uint8Array());
    assert.equal(readCommandLine(`${dir}/cmdline`), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseProcMapsBounded: escaped newlines in paths, a capped module list", () => {
  const lines = ["55aa00000000-55aa00001000 r-xp 00000000 08:01 1 /opt/a\\012b"];
  for (let i = 0; i < 5; i++) {
    lines.push(`7f000000${i}000-7f000000${i}fff r-xp 00000000 08:01 2 /lib/lib${i}.so`);
  }
  const { modules, omitted } = parseProcMapsBounded(lines.join("\n"), "/opt/a\nb", 3);
  assert.deepEqual(modules.map((m) => m.path), ["/opt/a\nb", "/lib/lib0.so", "/lib/lib1.so"]);
  assert.equal(omitted, 3);
});

Deno.test("ProcessInfoReader: a real process whose executable path is not UTF-8", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "portreporter-hostile-exe-" });
  const exe = bytes(dir, "/sl", [0xff], "ep,\x1b[31m");
  const made = new Deno.Command("sh", {
    args: [
      "-c",
      `cp /bin/sleep "$1$(printf 'sl\\377ep,\\033[31m')" && exec "$1$(printf 'sl\\377ep,\\033[31m')" 30`,
      "sh",
      `${dir}/`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const reader = new ProcessInfoReader();
    const warnings: WarningCounts = {};
    let info = reader.read(made.pid, warnings);
    for (let i = 0; i < 100 && info.path !== decodeBytes(exe); i++) {
      await new Promise((r) => setTimeout(r, 20)); // until the shell has exec'd
      reader.endPoll();
      reader.endPoll();
      info = reader.read(made.pid, warnings);
    }
    assert.deepEqual(encodeText(info.path!), exe);
    assert.equal(info.name, "sl\udcffep,\x1b[31m");
    assert.equal(info.commandLine, `${decodeBytes(exe)} 30`);
    assert.equal(info.modules?.[0].path, info.path);
    assert.equal(info.partial, undefined);
  } finally {
    made.kill("SIGKILL");
    await made.status;
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ProcessInfoReader: a detail that cannot be read costs that field only, with the reason", () => {
  const root = Deno.makeTempDirSync({ prefix: "portreporter-proc-" });
  try {
    Deno.writeTextFileSync(`${root}/stat`, "btime 1700000000\n");
    Deno.mkdirSync(`${root}/77`);
    Deno.writeFileSync(
      `${root}/77/stat`,
      bytes("77 (sh", [0xff], ") S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0"),
    );
    Deno.mkdirSync(`${root}/77/cmdline`); // reading it fails with EISDIR: neither gone nor forbidden
    Deno.writeTextFileSync(`${root}/77/status`, "Name:\tsh\nUid:\t4242\t4242\t4242\t4242\n");
    Deno.writeFileSync(
      `${root}/77/maps`,
      bytes("55aa00000000-55aa00001000 r-xp 0 08:01 1 /opt/x", [0xfe], "\n"),
    );
    new Deno.Command("sh", { args: ["-c", `ln -s "$(printf '/opt/x\\376')" "$1/77/exe"`, "sh", root] })
      .outputSync();
    const passwd = `${root}/passwd`;
    Deno.writeFileSync(passwd, bytes("u", [0xff], ":x:4242:4242::/:/bin/sh\n"));
    const warnings: WarningCounts = {};
    const info = new ProcessInfoReader({ procRoot: root, passwdPath: passwd }).read(77, warnings);
    assert.equal(info.path, "/opt/x\udcfe");
    assert.equal(info.name, "x\udcfe");
    assert.equal(info.user, "u\udcff");
    assert.equal(info.commandLine, undefined);
    assert.match(info.partial!, new RegExp(`^unreadable \\(\\w+\\): ${root}/77/cmdline$`));
    assert.deepEqual(info.modules?.map((m) => m.path), ["/opt/x\udcfe"]);
    assert.deepEqual(warnings, { "process-detail-unreadable": 1 });
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

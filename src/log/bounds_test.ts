import assert from "node:assert/strict";
import { boundProcess, fitJsonLine, MAX_LINE_BYTES, recut } from "./bounds.ts";

Deno.test("recut: a value the collector already cut keeps one marker that counts every byte cut", () => {
  const original = "a".repeat(40_000);
  const collected = original.slice(0, 32_768) + `…[cut ${40_000 - 32_768} bytes]`;
  const out = recut(collected, 2500);
  const m = /^(a*)…\[cut (\d+) bytes\]$/.exec(out)!;
  assert.ok(m, out.slice(-40));
  assert.equal(m[1].length + Number(m[2]), 40_000);
  assert.ok(new TextEncoder().encode(out).length <= 2500 + 3);
  assert.equal(recut("short…[cut 5 bytes]", 2500), "short…[cut 5 bytes]");
});

Deno.test("boundProcess: small processes pass as the same object; big values are cut; fitJsonLine caps JSON", () => {
  const small = { pid: 1, name: "sshd", path: "/usr/sbin/sshd", modules: [] };
  assert.equal(boundProcess(small), small);
  const big = boundProcess({ pid: 2, name: "x".repeat(5000), commandLine: "\x01".repeat(50_000) });
  assert.match(big.name, /…\[cut \d+ bytes\]$/);
  const line = fitJsonLine({
    v: 1,
    event: "process",
    commandLine: big.commandLine,
    other: "\x02".repeat(20_000),
  });
  assert.ok(new TextEncoder().encode(line).length <= MAX_LINE_BYTES);
  assert.equal(JSON.parse(line).cut, true);
});

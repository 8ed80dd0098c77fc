import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { compileAddresses, compileGlob, compilePorts, compileRule, isListener, isLoopback } from "./match.ts";
import { change, listener, socket } from "./testdata/changes.ts";

Deno.test("ports: single, ranges, lists", () => {
  const p = compilePorts(["80", 443, "8000-8100, 9000"], "port");
  for (const yes of [80, 443, 8000, 8050, 8100, 9000]) assert.ok(p(yes), String(yes));
  for (const no of [0, 81, 7999, 8101, 65535]) assert.ok(!p(no), String(no));
  for (const bad of ["70000", "10-5", "http", "", [], {}]) {
    assert.throws(() => compilePorts(bad, "port"), UsageError, JSON.stringify(bad));
  }
});

Deno.test("addresses: IPv4 and IPv6 addresses, CIDR and ranges; IPv4 rules match IPv4-mapped IPv6", () => {
  const a = compileAddresses(
    ["10.0.0.0/8", "192.168.1.10-192.168.1.20", "2001:db8::/32", "fe80::1", "::1"],
    "a",
  );
  for (const yes of ["10.1.2.3", "192.168.1.15", "2001:db8:ffff::1", "fe80::1", "::1", "::ffff:10.9.9.9"]) {
    assert.ok(a(yes), yes);
  }
  for (const no of ["11.0.0.1", "192.168.1.21", "2001:db9::1", "fe80::2", "::2", "not-an-ip", ""]) {
    assert.ok(!a(no), no);
  }
  for (const bad of ["10.0.0.0/33", "::/129", "300.1.1.1", "10.0.0.9-10.0.0.1", "10.0.0.1-::5", "x/8"]) {
    assert.throws(() => compileAddresses(bad, "a"), UsageError, bad);
  }
});

Deno.test("loopback and listeners", () => {
  for (const yes of ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"]) assert.ok(isLoopback(yes), yes);
  for (const no of ["128.0.0.1", "::2", "0.0.0.0", "::"]) assert.ok(!isLoopback(no), no);
  assert.ok(isListener(socket({ state: "LISTEN", remoteAddress: "0.0.0.0", remotePort: 0 })));
  assert.ok(
    isListener(socket({ protocol: "udp", state: null, remoteAddress: "::", remotePort: 0, family: 6 })),
  );
  assert.ok(!isListener(socket({ protocol: "udp", state: null })));
  assert.ok(!isListener(socket()));
});

Deno.test("globs are case-insensitive and treat \\ and / alike", () => {
  assert.ok(compileGlob("svc*.EXE", "g")("SvcHost.exe"));
  assert.ok(compileGlob("C:\\Program Files\\**\\*.exe", "g")("c:\\program files\\Vendor\\bin\\App.exe"));
  assert.ok(compileGlob("/usr/sbin/*", "g")("/usr/sbin/sshd"));
  assert.ok(!compileGlob("/usr/sbin/*", "g")("/usr/sbin/x/sshd"));
  assert.ok(compileGlob("NT AUTHORITY\\*", "g")("nt authority\\SYSTEM"));
});

Deno.test("rules: every field ANDed, lists ORed; unknown fields and bad values are UsageErrors", () => {
  const rule = compileRule(
    {
      protocol: "TCP",
      kind: ["opened", "changed"],
      process: ["nginx", "/opt/**"],
      user: "www*",
      localPort: "80,443",
    },
    "r",
  );
  assert.ok(rule(change({ localPort: 443 }, { process: { name: "nginx", user: "www-data" } })));
  assert.ok(rule(change({ localPort: 80 }, { process: { name: "x", path: "/opt/app/bin/x", user: "WWW" } })));
  assert.ok(!rule(change({ localPort: 80 }, { process: { name: "nginx", user: "root" } })));
  assert.ok(!rule(change({ localPort: 80 }, { kind: "closed", process: { name: "nginx", user: "www" } })));
  assert.ok(
    !rule(
      change({ localPort: 80, protocol: "udp", state: null }, { process: { name: "nginx", user: "www" } }),
    ),
  );
  assert.ok(
    !rule(change({ localPort: 80 }, { process: null })),
    "no process info: process rules do not match",
  );

  assert.ok(compileRule({ process: "4242" }, "r")(change()));
  assert.ok(compileRule({ pid: [1, 4242] }, "r")(change()));
  assert.ok(compileRule({ state: "listen", listener: true }, "r")(listener(22)));
  assert.ok(!compileRule({ state: "LISTEN" }, "r")(change({ protocol: "udp", state: null })));
  assert.ok(
    compileRule({ family: 6, address: "2001:db8::/32" }, "r")(change({ localAddress: "2001:db8::10" })),
  );
  assert.ok(compileRule({ loopback: true }, "r")(change({ localAddress: "::1", remoteAddress: "::1" })));
  assert.ok(compileRule({}, "r")(change()), "an empty rule matches everything");

  assert.throws(() => compileRule({ prot: "tcp" }, "include[0]"), /unknown option "include\[0\]\.prot"/);
  assert.throws(() => compileRule({ state: "OPEN" }, "r"), /r\.state: "OPEN" is not one of/);
  assert.throws(() => compileRule({ protocol: "icmp" }, "r"), UsageError);
  assert.throws(() => compileRule({ family: "4" }, "r"), UsageError);
  assert.throws(() => compileRule({ loopback: "yes" }, "r"), UsageError);
  assert.throws(() => compileRule({ pid: -1 }, "r"), UsageError);
  assert.throws(() => compileRule("tcp", "r"), UsageError);
});

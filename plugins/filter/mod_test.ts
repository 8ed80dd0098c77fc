import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import type { Change } from "../../src/model/types.ts";
import { change, listener } from "../../src/plugin/testdata/changes.ts";
import filter, { compileFilter, parseCurrPortsRule } from "./mod.ts";

const v4 = change({
  localAddress: "10.0.0.10",
  localPort: 50000,
  remoteAddress: "93.184.216.34",
  remotePort: 443,
});
const v6 = change({
  localAddress: "2001:db8::10",
  localPort: 50001,
  remoteAddress: "2606:4700::1111",
  remotePort: 853,
});
const lo4 = change({ localAddress: "127.0.0.1", remoteAddress: "127.0.0.1", remotePort: 5432 });
const lo6 = change({ localAddress: "::1", remoteAddress: "::1", remotePort: 6379 });
const listen4 = listener(22, {}, { name: "sshd", path: "/usr/sbin/sshd", user: "root" });
const listen6 = listener(8080, { localAddress: "::", remoteAddress: "::", family: 6 }, {
  name: "node",
  user: "app",
});
const udp = change({ protocol: "udp", state: null, localPort: 53, remoteAddress: "0.0.0.0", remotePort: 0 }, {
  process: { name: "systemd-resolved", path: "/usr/lib/systemd/systemd-resolved", user: "systemd-resolve" },
});
const win = change({ localPort: 3389, remoteAddress: "198.51.100.7", remotePort: 50123 }, {
  process: {
    name: "svchost.exe",
    path: "C:\\Windows\\System32\\svchost.exe",
    user: "NT AUTHORITY\\NETWORK SERVICE",
  },
});
const all: Change[] = [v4, v6, lo4, lo6, listen4, listen6, udp, win];
const names = new Map(
  all.map((c, i) => [c, ["v4", "v6", "lo4", "lo6", "listen4", "listen6", "udp", "win"][i]]),
);

function kept(options: Record<string, unknown>): string[] {
  const keep = compileFilter(options);
  return all.filter(keep).map((c) => names.get(c)!);
}

Deno.test("no rules keep everything", () => {
  assert.deepEqual(kept({}), [...names.values()]);
});

Deno.test("CurrPorts syntax: include/exclude by side, protocol, port, address, CIDR and process", () => {
  assert.deepEqual(kept({ rules: "include:remote:tcp:443" }), ["v4"]);
  assert.deepEqual(kept({ rules: "include:remote:tcp:800-900" }), ["v6"]);
  assert.deepEqual(kept({ rules: "include:local:tcpudp:53" }), ["udp"]);
  assert.deepEqual(kept({ rules: "include:local:udp:53 include:local:tcp:22" }), ["listen4", "udp"]);
  assert.deepEqual(kept({ rules: "include:remote:tcp:2606:4700::/32" }), ["v6"]);
  assert.deepEqual(kept({ rules: "include:both:tcp:93.184.216.0/24" }), ["v4"]);
  assert.deepEqual(kept({ rules: "include:local:tcp:10.0.0.1-10.0.0.20" }), ["v4", "win"]);
  assert.deepEqual(kept({ rules: "include:both:tcpudp:::1" }), ["lo6"]);
  assert.deepEqual(kept({ rules: "include:process:sshd;include:process:SVCHOST.EXE" }), ["listen4", "win"]);
  assert.deepEqual(kept({ rules: ["include:process:C:\\Windows\\*\\svchost.exe"] }), ["win"]);
  assert.deepEqual(kept({ rules: "include:process:/usr/lib/**" }), ["udp"]);
  assert.deepEqual(
    kept({ rules: "exclude:both:tcpudp:127.0.0.0/8 exclude:both:tcpudp:::1\nexclude:process:svc*" }),
    [
      "v4",
      "v6",
      "listen4",
      "listen6",
      "udp",
    ],
  );
  // exclude wins over include
  assert.deepEqual(kept({ rules: "include:remote:tcp:443 exclude:remote:tcp:93.184.216.34" }), []);
  // process by pid
  assert.deepEqual(kept({ rules: "exclude:process:4242" }), []);
});

Deno.test("structured rules, state toggles and hide loopback", () => {
  assert.deepEqual(kept({ include: [{ listener: true }] }), ["listen4", "listen6", "udp"]);
  assert.deepEqual(kept({ include: [{ family: 6, loopback: false }] }), ["v6", "listen6"]);
  assert.deepEqual(kept({ exclude: [{ user: ["root", "nt authority\\*"] }] }), [
    "v4",
    "v6",
    "lo4",
    "lo6",
    "listen6",
    "udp",
  ]);
  assert.deepEqual(kept({ include: [{ process: "node", localPort: "8000-8999" }, { remotePort: 853 }] }), [
    "v6",
    "listen6",
  ]);
  assert.deepEqual(kept({ hideLoopback: true }), ["v4", "v6", "listen4", "listen6", "udp", "win"]);
  assert.deepEqual(kept({ tcpStates: ["listen"] }), ["listen4", "listen6", "udp"]);
  assert.deepEqual(
    kept({ tcpStates: ["ESTABLISHED"], hideLoopback: true, exclude: [{ address: "2001:db8::/32" }] }),
    [
      "v4",
      "udp",
      "win",
    ],
  );
});

Deno.test("bad rules are UsageErrors naming the rule", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ rules: "allow:remote:tcp:80" }, /rules\[0\] "allow:remote:tcp:80": "allow" is not include or exclude/],
    [{ rules: "include:far:tcp:80" }, /"far" is not local, remote, both or process/],
    [{ rules: "include:remote:icmp:80" }, /"icmp" is not tcp, udp or tcpudp/],
    [{ rules: "include:remote:tcp:" }, /no port or address given/],
    [{ rules: "include:remote:tcp:10.0.0.0/40" }, /prefix length/],
    [{ rules: "include:remote:tcp:70000" }, /not a port/],
    [{ rules: "include:process:" }, /no process given/],
    [{ include: [{ port: "x" }] }, /include\[0\]\.port/],
    [{ exclude: "nope" }, /option "exclude" must be a list/],
    [{ tcpStates: ["OPEN"] }, /"OPEN" is not a TCP state/],
    [{ hideLoopback: "yes" }, /option "hideLoopback" must be true or false/],
    [{ rule: "x" }, /unknown option "rule"/],
  ];
  for (const [options, pattern] of bad) {
    assert.throws(
      () => filter(options),
      (err: unknown) => err instanceof UsageError && pattern.test(err.message),
    );
  }
});

Deno.test("parseCurrPortsRule keeps IPv6 values whole", () => {
  assert.deepEqual(parseCurrPortsRule("exclude:remote:udp:fe80::/10", "r"), {
    include: false,
    rule: { protocol: "udp", remoteAddress: "fe80::/10" },
  });
});

Deno.test("the plugin object", () => {
  const p = filter({ rules: "include:local:tcp:22" });
  assert.equal(p.apiVersion, 1);
  assert.equal(p.id, "filter");
  assert.equal(p.filter!(listen4), true);
  assert.equal(p.filter!(v4), false);
});

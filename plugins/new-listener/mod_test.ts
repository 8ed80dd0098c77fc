import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import type { Change } from "../../src/model/types.ts";
import { change, listener } from "../../src/plugin/testdata/changes.ts";
import { testContext } from "../../src/plugin/testdata/harness.ts";
import newListener, { describeListener, isNewListener } from "./mod.ts";

function alertsFor(options: Record<string, unknown>, changes: Change[]) {
  const t = testContext("new-listener", options);
  const p = newListener(options);
  p.onChanges!(changes, t.ctx);
  return t;
}

const sshd = listener(22, {}, { name: "sshd", path: "/usr/sbin/sshd", user: "root" });
const rogue6 = listener(4444, { family: 6, localAddress: "::", remoteAddress: "::" }, {
  name: "nc",
  path: "/usr/bin/nc",
  user: "mallory",
});
const udpBind = change({
  protocol: "udp",
  state: null,
  localPort: 5353,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
}, {
  process: { name: "avahi-daemon", user: "avahi" },
});

Deno.test("what counts as a new listener", () => {
  assert.ok(isNewListener(sshd));
  assert.ok(isNewListener(udpBind));
  assert.ok(isNewListener({ ...sshd, kind: "changed", previousState: "BOUND" }));
  assert.ok(!isNewListener({ ...sshd, kind: "closed" }));
  assert.ok(!isNewListener(change()), "an established connection");
  assert.ok(!isNewListener(change({ protocol: "udp", state: null })), "a connected UDP socket");
});

Deno.test("alerts on every new listener that is not allowed", () => {
  const t = alertsFor({}, [sshd, rogue6, udpBind, change()]);
  assert.deepEqual(t.alerts.map((a) => a.message), [
    "new listener: tcp 0.0.0.0:22 by sshd (pid 4242, user root)",
    "new listener: tcp6 [::]:4444 by nc (pid 4242, user mallory)",
    "new listener: udp 10.0.0.10:5353 by avahi-daemon (pid 4242, user avahi)",
  ]);
  assert.equal(t.alerts[0].severity, "warning");
  assert.equal(t.alerts[0].change, sshd);
  assert.deepEqual(t.alerts[1].data, {
    protocol: "tcp",
    address: "::",
    port: 4444,
    pid: 4242,
    processName: "nc",
    processPath: "/usr/bin/nc",
    user: "mallory",
  });
});

Deno.test("the allowlist: by process name or path glob, port, user", () => {
  const changes = [sshd, rogue6, udpBind];
  const allowed = (allow: unknown[]) => alertsFor({ allow }, changes).alerts.map((a) => a.data?.port);
  assert.deepEqual(allowed([{ process: "sshd" }]), [4444, 5353]);
  assert.deepEqual(allowed([{ process: "/usr/sbin/*" }, { port: 5353, protocol: "udp" }]), [4444]);
  assert.deepEqual(allowed([{ user: ["root", "avahi"] }]), [4444]);
  assert.deepEqual(allowed([{ process: "sshd", port: 2222 }]), [22, 4444, 5353], "fields are ANDed");
  assert.deepEqual(allowed([{ localPort: "1-1023" }]), [4444, 5353]);
});

Deno.test("severity and cooldown", () => {
  const options = { severity: "critical", cooldownMs: 60_000 };
  const t = testContext("new-listener", options);
  const p = newListener(options);
  p.onChanges!([rogue6], t.ctx);
  p.onChanges!([rogue6], t.ctx);
  t.clock.now += 61_000;
  p.onChanges!([rogue6], t.ctx);
  assert.equal(t.alerts.length, 2);
  assert.equal(t.alerts[0].severity, "critical");
});

Deno.test("bad options are UsageErrors", () => {
  for (
    const options of [{ allow: [{ proc: "x" }] }, { allow: "sshd" }, { severity: "high" }, { cooldownMs: -1 }]
  ) {
    assert.throws(() => newListener(options), UsageError, JSON.stringify(options));
  }
});

Deno.test("describeListener without process details", () => {
  assert.equal(describeListener({ ...listener(80), process: undefined }), "tcp 0.0.0.0:80 by pid 4242");
});

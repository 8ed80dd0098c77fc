import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import type { Plugin } from "../../src/plugin/api.ts";
import { change } from "../../src/plugin/testdata/changes.ts";
import { testContext } from "../../src/plugin/testdata/harness.ts";
import { parseLine, startRsyslog } from "../../test/rsyslog.ts";
import syslog from "./mod.ts";
import { formatMessage, octetFrame, sdValue } from "./rfc5424.ts";

async function until(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function started(options: Record<string, unknown>): Promise<{ p: Plugin; lines: string[] }> {
  const t = testContext("syslog", options);
  const p = syslog(options);
  await p.init?.(options, t.ctx);
  return { p, lines: t.lines };
}

function changes(from: number, n: number) {
  return Array.from({ length: n }, (_, i) => change({ localPort: 40000 + ((from + i) % 20000) }));
}

Deno.test("RFC 5424 message: header, meta sequenceId, escaped SD values, BOM and a one-line MSG", () => {
  const h = {
    facility: 3,
    hostname: "web 1",
    appName: "portreporter",
    procId: "42",
    sdId: "portreporter@32473",
  };
  const text = formatMessage(h, {
    time: "2026-12-01T10:00:00.000Z",
    msgId: "opened",
    severity: 6,
    fields: { processName: 'a"b]c\\d', localPort: 22, gone: undefined },
    sequenceId: 7,
    text: "opened evil\n<13>1 forged",
  });
  assert.equal(
    text,
    '<30>1 2026-12-01T10:00:00.000Z web_1 portreporter 42 opened [meta sequenceId="7"]' +
      // the lone backslash starts no escape of the field grammar, so only the SD escaping doubles it
      '[portreporter@32473 processName="a\\"b\\]c\\\\d" localPort="22"] \ufeffopened evil\\x0a<13>1 forged',
  );
  assert.equal(sdValue({ a: [1] }), '{\\"a\\":[1\\]}');
  assert.equal(sdValue("x\ny,z"), "x\\\\x0ay\\\\x2cz"); // classic escapes, their backslashes escaped again
  const frame = new TextDecoder().decode(octetFrame("é"));
  assert.equal(frame, "2 é"); // the length counts bytes
});

Deno.test("syslog refuses bad options with one line", () => {
  for (
    const [options, re] of [
      [{ url: "http://x:1" }, /udp:\/\/host:port/],
      [{ url: "tcp://127.0.0.1:70000" }, /udp:\/\/host:port/],
      [{ url: "tls://127.0.0.1:6514" }, /caFile/],
      [{ url: "tcp://127.0.0.1:514", facility: "nope" }, /facility/],
      [{ url: "tcp://127.0.0.1:514", schema: "xml" }, /schema/],
    ] as const
  ) {
    assert.throws(
      () => syslog(options as Record<string, unknown>),
      (e) => e instanceof UsageError && re.test(e.message),
    );
  }
});

Deno.test("syslog over UDP to a real rsyslog: every change arrives and its fields parse back", async () => {
  const rs = await startRsyslog({ transport: "udp" });
  try {
    const { p } = await started({ url: `udp://127.0.0.1:${rs.port}` });
    await p.onChanges!(changes(0, 50), testContext("x").ctx);
    await until("50 datagrams", async () => (await rs.lines()).length >= 50);
    const got = (await rs.lines()).map(parseLine);
    assert.equal(got.length, 50);
    const first = got[0];
    assert.equal(first.msgId, "opened");
    assert.equal(first.sd["portreporter@32473"].localPort, "40000");
    assert.equal(first.sd["portreporter@32473"].processName, "curl");
    assert.equal(first.sd["portreporter@32473"].protocol, "tcp");
    assert.match(
      first.msg,
      /^opened tcp 10\.0\.0\.10:40000 -> 93\.184\.216\.34:443 ESTABLISHED pid 4242 curl$/,
    );
    await p.close!();
  } finally {
    await rs.stop();
  }
});

Deno.test("syslog over TCP: a restart of rsyslog loses nothing that was queued", async () => {
  const rs = await startRsyslog({ transport: "tcp" });
  try {
    const { p, lines } = await started({
      url: `tcp://127.0.0.1:${rs.port}`,
      backoffMs: 50,
      maxBackoffMs: 200,
    });
    const ctx = testContext("x").ctx;
    await p.onChanges!(changes(0, 300), ctx);
    await until("the first 300", async () => (await rs.lines()).length >= 300);
    await rs.stop();
    await p.onChanges!(changes(300, 200), ctx); // queued while the receiver is down
    await new Promise((r) => setTimeout(r, 500));
    await rs.restart();
    await p.onChanges!(changes(500, 100), ctx);
    const seqs = async () => new Set((await rs.lines()).map((l) => Number(parseLine(l).sd.meta.sequenceId)));
    await until("all 600 sequence ids", async () => (await seqs()).size >= 600);
    const got = await seqs();
    for (let i = 1; i <= 600; i++) assert.ok(got.has(i), `sequenceId ${i} missing`);
    await p.close!();
    assert.ok(lines.some((l) => /delivery failed/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /delivering again/.test(l)), lines.join("\n"));
  } finally {
    await rs.stop();
  }
});

Deno.test("syslog over TLS: the pinned CA is checked, a client certificate is sent when asked", async () => {
  const rs = await startRsyslog({ transport: "tls", authMode: "x509/certvalid" });
  try {
    const { p } = await started({
      url: `tls://127.0.0.1:${rs.port}`,
      caFile: rs.pki.ca,
      certFile: rs.pki.clientCert,
      keyFile: rs.pki.clientKey,
      schema: "ecs",
    });
    await p.onChanges!(changes(0, 20), testContext("x").ctx);
    await until("20 messages over TLS", async () => (await rs.lines()).length >= 20);
    const first = parseLine((await rs.lines())[0]);
    assert.equal(first.sd["portreporter@32473"]["network.transport"], "tcp");
    assert.equal(first.sd["portreporter@32473"]["process.name"], "curl");
    assert.equal(first.sd["portreporter@32473"]["destination.port"], "443");
    await p.close!();

    // a CA that did not sign the receiver's certificate: nothing is sent, the failure is one line
    const otherCa = await startRsyslog({ transport: "tls" });
    await otherCa.stop();
    const bad = await started({ url: `tls://127.0.0.1:${rs.port}`, caFile: otherCa.pki.ca, backoffMs: 50 });
    await bad.p.onChanges!(changes(0, 5), testContext("x").ctx);
    await until("a failure line", () => Promise.resolve(bad.lines.some((l) => /delivery failed/.test(l))));
    await bad.p.close!();
    assert.equal((await rs.lines()).length, 20);
  } finally {
    await rs.stop();
  }
});

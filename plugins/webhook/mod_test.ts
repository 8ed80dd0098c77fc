import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import type { Alert } from "../../src/model/types.ts";
import type { Plugin } from "../../src/plugin/api.ts";
import { change } from "../../src/plugin/testdata/changes.ts";
import { testContext } from "../../src/plugin/testdata/harness.ts";
import webhook, { redact, redactUrl, type WebhookPayload } from "./mod.ts";

const TOKEN = "tok-SECRET-7f3a9";
const TOKEN_ENV = "PR_TEST_WEBHOOK_TOKEN";

function alert(n: number): Alert {
  return {
    time: 1_700_000_000_000 + n,
    pluginId: "test",
    severity: "warning",
    message: `alert ${n}`,
    change: change(),
  };
}

/** A port nothing listens on (for now). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A local receiver that records payloads; `behave(n)` decides how request n (from 0) is answered. */
function receiver(port: number, behave: (n: number) => { delayMs?: number; status?: number } = () => ({})) {
  const payloads: WebhookPayload[] = [];
  const auth: (string | null)[] = [];
  let n = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const { delayMs = 0, status = 200 } = behave(n++);
    const body = await req.json() as WebhookPayload;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (status === 200 && delayMs === 0) {
      payloads.push(body);
      auth.push(req.headers.get("authorization"));
    }
    return new Response(status === 200 ? "ok" : "no", { status });
  });
  return { server, payloads, auth, requests: () => n };
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function started(options: Record<string, unknown>): Promise<{ p: Plugin; lines: string[] }> {
  const t = testContext("webhook", options);
  const p = webhook(options);
  await p.init!(options, t.ctx);
  return { p, lines: t.lines };
}

Deno.test("webhook: server down, then slow, then back: retries deliver everything in order, no secret logged", async () => {
  Deno.env.set(TOKEN_ENV, TOKEN);
  const port = freePort();
  const url = `http://127.0.0.1:${port}/hooks/path-SECRET-91?key=query-SECRET-55`;
  const { p, lines } = await started({
    url,
    authEnv: TOKEN_ENV,
    timeoutMs: 300,
    backoffMs: 50,
    maxBackoffMs: 200,
    batchSize: 2,
  });
  let rx: ReturnType<typeof receiver> | undefined;
  try {
    await p.onAlerts!([alert(1), alert(2), alert(3)]);
    await until("a failed attempt to be logged", () => lines.some((l) => l.includes("delivery failed")));
    // Back, but slow: the first two requests get no answer within the 300 ms timeout.
    rx = receiver(port, (n) => ({ delayMs: n < 2 ? 1500 : 0 }));
    await p.onAlerts!([alert(4), alert(5)]);
    await until("all five alerts", () => rx!.payloads.flatMap((b) => b.alerts).length >= 5);
    assert.deepEqual(
      rx.payloads.flatMap((b) => b.alerts).map((a) => a.message),
      [1, 2, 3, 4, 5].map((n) => `alert ${n}`),
    );
    assert.ok(rx.requests() >= 5, "the slow requests were retried");
    assert.ok(rx.auth.every((a) => a === `Bearer ${TOKEN}`));
    assert.equal(rx.payloads[0].alerts[0].change?.socket.localPort, 50000, "alerts travel whole");
    await p.close!();
    assert.ok(
      lines.some((l) => /^http:\/\/127\.0\.0\.1:\d+: delivery failed \(/.test(l)),
      lines.join("\n"),
    );
    assert.ok(lines.some((l) => /delivering again after \d+ failed attempts/.test(l)), lines.join("\n"));
    for (const line of lines) {
      for (const secret of [TOKEN, "path-SECRET", "query-SECRET", "/hooks"]) {
        assert.ok(!line.includes(secret), `secret ${secret} in log line: ${line}`);
      }
    }
  } finally {
    await p.close!();
    await rx?.server.shutdown();
    Deno.env.delete(TOKEN_ENV);
  }
});

Deno.test("webhook: user info in the URL becomes Basic auth and never reaches a log line", async () => {
  const port = freePort();
  const rx = receiver(port, (n) => ({ status: n === 0 ? 503 : 200 }));
  const { p, lines } = await started({ url: `http://bob:pa55-SECRET@127.0.0.1:${port}/x`, backoffMs: 20 });
  try {
    await p.onAlerts!([alert(1)]);
    await until("delivery", () => rx.payloads.length === 1);
    assert.equal(rx.auth[0], `Basic ${btoa("bob:pa55-SECRET")}`);
    await p.close!();
    assert.ok(lines.length > 0);
    for (const line of lines) assert.ok(!/bob|pa55|Ym9i/.test(line), line);
    assert.match(
      lines[0],
      /^http:\/\/127\.0\.0\.1:\d+: delivery failed \(HTTP 503\); retrying/,
      "lines stay readable",
    );
  } finally {
    await p.close!();
    await rx.server.shutdown();
  }
});

Deno.test("webhook: a full queue drops the oldest and says how many in the next payload", async () => {
  const port = freePort();
  const { p, lines } = await started({
    url: `http://127.0.0.1:${port}/`,
    queueSize: 3,
    batchSize: 10,
    backoffMs: 30,
  });
  let rx: ReturnType<typeof receiver> | undefined;
  try {
    // The first alert is taken out of the queue and retried while the server is down; the rest queue up.
    await p.onAlerts!([alert(1)]);
    await until("a failed attempt", () => lines.some((l) => l.includes("delivery failed")));
    await p.onAlerts!([alert(2), alert(3), alert(4), alert(5), alert(6)]);
    assert.ok(lines.some((l) => l.includes("queue full (3 alerts)")), lines.join("\n"));
    rx = receiver(port);
    await until("delivery", () => rx!.payloads.flatMap((b) => b.alerts).length >= 4);
    assert.deepEqual(rx.payloads.flatMap((b) => b.alerts).map((a) => a.message), [
      "alert 1",
      "alert 4",
      "alert 5",
      "alert 6",
    ]);
    assert.equal(rx.payloads.reduce((sum, b) => sum + b.dropped, 0), 2);
  } finally {
    await p.close!();
    await rx?.server.shutdown();
  }
});

Deno.test("webhook: a 4xx answer is not retried; close() is bounded while the server is down", async () => {
  const port = freePort();
  const rx = receiver(port, () => ({ status: 400 }));
  const { p, lines } = await started({
    url: `http://127.0.0.1:${port}/`,
    backoffMs: 20,
    flushTimeoutMs: 300,
  });
  try {
    await p.onAlerts!([alert(1)]);
    await until("the refusal", () => lines.some((l) => l.includes("HTTP 400")));
    assert.equal(rx.requests(), 1);
    await rx.server.shutdown();
    await p.onAlerts!([alert(2)]);
    const start = Date.now();
    await p.close!();
    assert.ok(Date.now() - start < 5000, "close is bounded");
    assert.ok(lines.some((l) => /1 alerts not delivered at shutdown/.test(l)), lines.join("\n"));
  } finally {
    await p.close!();
  }
});

Deno.test("webhook: option and environment errors at start", async () => {
  const bad: Record<string, unknown>[] = [
    {},
    { url: "not a url" },
    { url: "ftp://example.com/" },
    { url: "http://x/", headers: { Authorization: "Bearer x" } },
    { url: "http://x/", timeoutMs: "5s" },
    { url: "http://x/", queueSize: 0 },
    { url: "http://x/", retry: true },
  ];
  for (const options of bad) assert.throws(() => webhook(options), UsageError, JSON.stringify(options));
  const options = { url: "http://x/", authEnv: "PR_TEST_WEBHOOK_UNSET" };
  const t = testContext("webhook", options);
  await assert.rejects(
    async () => await webhook(options).init!(options, t.ctx),
    /PR_TEST_WEBHOOK_UNSET.*not set/,
  );
});

Deno.test("webhook: a token or header value with CR/LF is refused at start, naming the variable, never the value", async () => {
  Deno.env.set("PR_TEST_WEBHOOK_NL", "Bearer NLTOKEN123\r\nX-Evil: 1");
  try {
    const options = { url: "http://x/", authEnv: "PR_TEST_WEBHOOK_NL" };
    const t = testContext("webhook", options);
    await assert.rejects(
      async () => await webhook(options).init!(options, t.ctx),
      (err: Error) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /environment variable PR_TEST_WEBHOOK_NL .*line break/);
        assert.ok(!err.message.includes("NLTOKEN123"), err.message);
        assert.ok(!/[\r\n]/.test(err.message));
        return true;
      },
    );
  } finally {
    Deno.env.delete("PR_TEST_WEBHOOK_NL");
  }
  assert.throws(
    () => webhook({ url: "http://x/", headers: { "X-Key": "SECRETVALUE\nX-Evil: 1" } }),
    (err: Error) =>
      err instanceof UsageError && /X-Key/.test(err.message) && !err.message.includes("SECRETVALUE"),
  );
  assert.throws(() => webhook({ url: "http://x/", headers: { "X Bad": "v" } }), UsageError);
});

Deno.test("redaction keeps only origins and removes secrets", () => {
  assert.equal(redactUrl("https://u:p@hooks.example.com:8443/a/b?c=d#e"), "https://hooks.example.com:8443");
  assert.equal(
    redact("error sending request for url (http://u:p@10.0.0.1:8080/x?tok=1): refused tok-1", ["tok-1"]),
    "error sending request for url (http://10.0.0.1:8080): refused ***",
  );
});

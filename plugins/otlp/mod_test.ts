/**
 * The `otlp` plugin against a local receiver that follows the OTLP/HTTP specification
 * (https://opentelemetry.io/docs/specs/otlp/#otlphttp): `POST /v1/logs`, `Content-Type: application/json`,
 * optional `Content-Encoding: gzip`, an `ExportLogsServiceRequest` body (JSON encoding: 64-bit integers
 * as strings), `200` with an optional `partialSuccess`, `429`/`502`/`503`/`504` retryable (with
 * `Retry-After`), other `4xx` not.
 */
import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import type { Plugin } from "../../src/plugin/api.ts";
import { change } from "../../src/plugin/testdata/changes.ts";
import { testContext } from "../../src/plugin/testdata/harness.ts";
import otlp from "./mod.ts";

type Answer = { status?: number; body?: unknown; headers?: Record<string, string> };

interface Received {
  records: Record<string, unknown>[];
  requests: number;
  gzip: boolean[];
}

/** A receiver; `answer(n)` decides how request n (from 0) is answered. */
function receiver(answer: (n: number) => Answer = () => ({})) {
  const got: Received = { records: [], requests: 0, gzip: [] };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const n = got.requests++;
    if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/logs") {
      return new Response("", { status: 404 });
    }
    if (req.headers.get("content-type") !== "application/json") return new Response("", { status: 415 });
    const gz = req.headers.get("content-encoding") === "gzip";
    got.gzip.push(gz);
    const raw = gz
      ? await new Response(req.body!.pipeThrough(new DecompressionStream("gzip"))).text()
      : await req.text();
    const body = JSON.parse(raw);
    const a = answer(n);
    if ((a.status ?? 200) === 200) {
      for (const rl of body.resourceLogs) {
        for (const sl of rl.scopeLogs) {
          for (const lr of sl.logRecords) got.records.push({ ...lr, resource: rl.resource });
        }
      }
    }
    return new Response(JSON.stringify(a.body ?? {}), {
      status: a.status ?? 200,
      headers: { "content-type": "application/json", ...a.headers },
    });
  });
  const port = (server.addr as Deno.NetAddr).port;
  return { server, got, endpoint: `http://127.0.0.1:${port}` };
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function started(options: Record<string, unknown>): Promise<{ p: Plugin; lines: string[] }> {
  const t = testContext("otlp", options);
  const p = otlp(options);
  await p.init?.(options, t.ctx);
  return { p, lines: t.lines };
}

const attr = (lr: Record<string, unknown>, key: string) =>
  (lr.attributes as { key: string; value: Record<string, unknown> }[]).find((a) => a.key === key)?.value;

Deno.test("otlp: one log record per change, fields as attributes, JSON-encoded int64 as strings", async () => {
  const rx = receiver();
  try {
    const { p } = await started({ endpoint: rx.endpoint, batchSize: 7 });
    await p.onChanges!(
      Array.from({ length: 20 }, (_, i) => change({ localPort: 1000 + i })),
      testContext("x").ctx,
    );
    await until("20 records", () => rx.got.records.length >= 20);
    await p.close!();
    assert.equal(rx.got.requests, 3); // 7 + 7 + 6
    const lr = rx.got.records[0];
    assert.equal(lr.timeUnixNano, "1700000000000000000");
    assert.equal(lr.severityNumber, 9);
    assert.equal(lr.eventName, "opened");
    assert.deepEqual(attr(lr, "localPort"), { intValue: "1000" });
    assert.deepEqual(attr(lr, "processName"), { stringValue: "curl" });
    assert.deepEqual(attr(lr, "event.name"), { stringValue: "opened" });
    const res = (lr.resource as { attributes: { key: string }[] }).attributes.map((a) => a.key);
    assert.deepEqual(res, ["service.name", "host.name"]);
  } finally {
    await rx.server.shutdown();
  }
});

Deno.test("otlp: 503 and 429 are retried, 400 and 413 are not, partialSuccess is counted", async () => {
  const statuses = [503, 429, 200, 400, 413, 200];
  const rx = receiver((n) =>
    n < statuses.length
      ? {
        status: statuses[n],
        headers: statuses[n] === 429 ? { "retry-after": "1" } : undefined,
        body: n === 5
          ? { partialSuccess: { rejectedLogRecords: "1", errorMessage: "bad\nrecord" } }
          : undefined,
      }
      : {}
  );
  try {
    const { p, lines } = await started({
      endpoint: rx.endpoint,
      batchSize: 1,
      backoffMs: 10,
      maxBackoffMs: 20,
    });
    const ctx = testContext("x").ctx;
    for (let i = 0; i < 4; i++) await p.onChanges!([change({ localPort: 2000 + i })], ctx);
    await until("4 answers after retries", () => rx.got.requests >= 6);
    await p.close!();
    // request 0 (503) and 1 (429) were the same batch retried; 3 (400) and 4 (413) dropped two batches
    assert.deepEqual(rx.got.records.map((r) => attr(r, "localPort")), [{ intValue: "2000" }, {
      intValue: "2003",
    }]);
    assert.ok(lines.some((l) => /HTTP 400.*dropped \(not retried\)/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /rejected 1 of 1 records \(bad\\x0arecord\)/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /3 dropped/.test(l)), lines.join("\n"));
  } finally {
    await rx.server.shutdown();
  }
});

Deno.test("otlp: gzip bodies and the ECS schema", async () => {
  const rx = receiver();
  try {
    const { p } = await started({ endpoint: rx.endpoint, gzip: true, schema: "ecs" });
    await p.onChanges!([change({ localPort: 51000, remotePort: 443 })], testContext("x").ctx);
    await until("1 record", () => rx.got.records.length >= 1);
    await p.close!();
    assert.deepEqual(rx.got.gzip, [true]);
    const network = attr(rx.got.records[0], "network") as {
      kvlistValue: { values: { key: string; value: unknown }[] };
    };
    const direction = network.kvlistValue.values.find((v) => v.key === "direction")?.value;
    assert.deepEqual(direction, { stringValue: "egress" });
  } finally {
    await rx.server.shutdown();
  }
});

Deno.test("otlp: a token or header with CR/LF is refused at start without printing it", async () => {
  Deno.env.set("PR_TEST_OTLP_TOKEN", "Bearer-SECRET\r\nX-Evil: 1");
  try {
    const p = otlp({ endpoint: "http://127.0.0.1:9/", authEnv: "PR_TEST_OTLP_TOKEN" });
    await assert.rejects(
      async () => await p.init!({}, testContext("otlp").ctx),
      (e) => e instanceof UsageError && /PR_TEST_OTLP_TOKEN/.test(e.message) && !/SECRET/.test(e.message),
    );
    assert.throws(
      () => otlp({ endpoint: "http://127.0.0.1:9/", headers: { "x-k": "a\nb" } }),
      (e) => e instanceof UsageError && /headers\.x-k/.test(e.message),
    );
    assert.throws(() => otlp({ endpoint: "ftp://x/" }), UsageError);
    assert.throws(() => otlp({ endpoint: "http://u:p@x/" }), /credentials/);
  } finally {
    Deno.env.delete("PR_TEST_OTLP_TOKEN");
  }
});

/**
 * Built-in `otlp`: ships every change (and every alert) as OpenTelemetry log records over OTLP/HTTP with
 * the JSON encoding (`POST <endpoint>/v1/logs`, optionally gzip), in the background. Per the OTLP
 * specification (https://opentelemetry.io/docs/specs/otlp/#failures-1): only 429, 502, 503 and 504 are
 * retried (with backoff, honouring `Retry-After`), any other failure drops the batch and counts it, and
 * `partialSuccess.rejectedLogRecords` is counted as dropped. Credentials come from an environment variable
 * and never reach a log line. See README.md.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { UsageError } from "../../src/errors.ts";
import { changeFields, type EventFields, toEcs } from "../../src/log/ecs.ts";
import { escapeField } from "../../src/model/text.ts";
import type { Alert, Change, Plugin, PluginContext } from "../../src/plugin/api.ts";
import { definePlugin } from "../../src/plugin/api.ts";
import { OptionReader } from "../../src/plugin/options.ts";
import { DeliveryQueue, type Outcome } from "../../src/ship/delivery.ts";
import { describeRecord } from "../syslog/rfc5424.ts";
import { exportRequest, type LogInput, rejectedOf } from "./encode.ts";

const OPTIONS = [
  "endpoint",
  "authEnv",
  "authScheme",
  "headers",
  "gzip",
  "schema",
  "alerts",
  "serviceName",
  "queueSize",
  "batchSize",
  "timeoutMs",
  "backoffMs",
  "maxBackoffMs",
  "flushTimeoutMs",
] as const;

/** The statuses OTLP/HTTP says are worth retrying. */
export const RETRYABLE = new Set([429, 502, 503, 504]);

/** A header value that would split the request (CR, LF or another control character) is refused. */
function checkHeader(name: string, value: string, source: string): void {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new UsageError(`${source} holds a control character (CR/LF?); the ${name} header cannot carry it`);
  }
}

function gzip(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).arrayBuffer().then((b) => new Uint8Array(b));
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/** The `otlp` plugin factory. */
export default definePlugin((options: Record<string, unknown>): Plugin => {
  const r = new OptionReader(options, OPTIONS);
  let url: URL;
  try {
    url = new URL(r.string("endpoint"));
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError(`option "endpoint" is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`option "endpoint" must be http:// or https://`);
  }
  if (url.username || url.password) {
    throw new UsageError(`option "endpoint" must not hold credentials: use "authEnv"`);
  }
  if (!url.pathname.endsWith("/v1/logs")) url.pathname = url.pathname.replace(/\/?$/, "/v1/logs");
  const origin = url.origin;
  const authEnv = r.string("authEnv", undefined, true);
  const authScheme = r.string("authScheme", "Bearer");
  const headers: Record<string, string> = { "content-type": "application/json", ...r.stringMap("headers") };
  for (const [k, v] of Object.entries(headers)) checkHeader(k, v, `option "headers.${escapeField(k)}"`);
  const useGzip = r.boolean("gzip", false);
  if (useGzip) headers["content-encoding"] = "gzip";
  const schema = r.string("schema", "fields");
  if (schema !== "fields" && schema !== "ecs") {
    throw new UsageError(`option "schema" must be "fields" or "ecs"`);
  }
  const withAlerts = r.boolean("alerts", true);
  const timeoutMs = r.number("timeoutMs", 10_000, { min: 1 });
  const flushTimeoutMs = r.number("flushTimeoutMs", 3000, { min: 0 });
  const resource = {
    serviceName: r.string("serviceName", "portreporter"),
    hostName: hostName(),
    version: denoJson.version,
  };
  const stop = new AbortController();
  let ctx: PluginContext | undefined;
  let rejectedTotal = 0;

  async function post(batch: LogInput[]): Promise<Outcome<LogInput>> {
    const json = JSON.stringify(exportRequest(resource, batch, Date.now()));
    const body = useGzip ? await gzip(json) : json;
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]);
    let res: Response;
    try {
      res = await fetch(url, { method: "POST", headers, body, signal, redirect: "manual" });
    } catch (err) {
      const timedOut = err instanceof DOMException && err.name === "TimeoutError";
      return {
        ok: false,
        permanent: false,
        detail: timedOut ? `no answer within ${timeoutMs} ms` : "connection failed",
      };
    }
    const text = await res.text().catch(() => "");
    if (res.ok) {
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = {};
      }
      const { rejected, message } = rejectedOf(parsed);
      if (rejected > 0) {
        rejectedTotal += rejected;
        ctx?.log(
          `${origin}: the receiver rejected ${rejected} of ${batch.length} records (${
            escapeField(message.slice(0, 200))
          })`,
        );
      }
      return { ok: true };
    }
    if (RETRYABLE.has(res.status)) {
      const after = Number(res.headers.get("retry-after"));
      if (Number.isFinite(after) && after > 0) {
        await new Promise((d) => setTimeout(d, Math.min(after, 60) * 1000));
      }
      return { ok: false, permanent: false, detail: `HTTP ${res.status}` };
    }
    return { ok: false, permanent: true, detail: `HTTP ${res.status}` };
  }

  const queue = new DeliveryQueue<LogInput>({
    capacity: r.number("queueSize", 10_000, { min: 1, max: 1_000_000 }),
    batchSize: r.number("batchSize", 200, { min: 1, max: 10_000 }),
    backoffMs: r.number("backoffMs", 500, { min: 1 }),
    maxBackoffMs: r.number("maxBackoffMs", 30_000, { min: 1 }),
    deliver: post,
    log: (line) => ctx?.log(line),
    name: origin,
  });

  const input = (fields: EventFields, severity: LogInput["severity"]): LogInput => ({
    time: fields.time,
    event: fields.event,
    severity,
    body: escapeField(describeRecord(fields)),
    attributes: schema === "ecs" ? toEcs(fields) : fields,
  });

  return {
    apiVersion: 1,
    id: "otlp",
    init(_options, context) {
      ctx = context;
      if (!authEnv) return;
      const token = Deno.env.get(authEnv);
      if (!token) {
        throw new UsageError(`environment variable ${authEnv} (option authEnv) is not set or empty`);
      }
      checkHeader("Authorization", token, `environment variable ${authEnv} (option authEnv)`);
      headers["authorization"] = `${authScheme} ${token}`;
    },
    onChanges(changes: readonly Change[]) {
      queue.push(changes.map((c) => input(changeFields(c, resource.hostName), "info")));
    },
    onAlerts(alerts: readonly Alert[]) {
      if (!withAlerts) return;
      queue.push(alerts.map((a) =>
        input({
          v: 1,
          event: "alert",
          time: new Date(a.time).toISOString(),
          host: resource.hostName,
          plugin: a.pluginId,
          severity: a.severity,
          message: a.message,
          data: a.data,
        }, a.severity)
      ));
    },
    async close() {
      const left = await queue.close(flushTimeoutMs);
      stop.abort();
      const dropped = queue.stats.dropped + rejectedTotal;
      if (left > 0 || dropped > 0) {
        ctx?.log(`${origin}: ${left} records not delivered at shutdown, ${dropped} dropped`);
      }
    },
  };
});

/**
 * Built-in `syslog`: ships every change (and every alert) as an RFC 5424 message to a syslog receiver
 * over UDP, TCP (octet counting) or TLS, in the background: a bounded queue (oldest dropped and counted),
 * reconnects with backoff, and after a connection dies the messages of the last `resendWindowMs` are
 * sent again (each carries `meta sequenceId`, so a receiver can drop the rare duplicate). See README.md.
 *
 * @module
 */

import { UsageError } from "../../src/errors.ts";
import { changeFields, type EventFields, toEcs } from "../../src/log/ecs.ts";
import type { Alert, Change, Plugin, PluginContext } from "../../src/plugin/api.ts";
import { definePlugin } from "../../src/plugin/api.ts";
import { OptionReader } from "../../src/plugin/options.ts";
import { DeliveryQueue, type Outcome } from "../../src/ship/delivery.ts";
import { describeRecord, FACILITIES, formatMessage, type Header, SEVERITY } from "./rfc5424.ts";
import { connect, type Connection, parseTarget, type Target } from "./transport.ts";

const OPTIONS = [
  "url",
  "facility",
  "caFile",
  "certFile",
  "keyFile",
  "hostname",
  "appName",
  "sdId",
  "schema",
  "alerts",
  "queueSize",
  "batchSize",
  "backoffMs",
  "maxBackoffMs",
  "flushTimeoutMs",
  "resendWindowMs",
] as const;

/** Nested ECS members as dotted SD-PARAM names (`process.pid`); lists and leaves stay whole. */
export function flatten(doc: Record<string, unknown>, prefix = "", out: Record<string, unknown> = {}) {
  for (const [k, v] of Object.entries(doc)) {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    } else out[prefix + k] = v;
  }
  return out;
}

function readPem(r: OptionReader, key: string): string | undefined {
  const path = r.string(key, undefined, true);
  if (!path) return undefined;
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    throw new UsageError(`option "${key}": cannot read ${path}: ${(err as Error).message}`);
  }
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "-";
  }
}

/** A message waiting to go: its text and when it was last written to a connection. */
interface Pending {
  text: string;
  sentAt: number;
}

/** The `syslog` plugin factory. */
export default definePlugin((options: Record<string, unknown>): Plugin => {
  const r = new OptionReader(options, OPTIONS);
  let target: Target;
  try {
    target = parseTarget(r.string("url"));
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError(`option ${(err as Error).message}`);
  }
  const facilityName = r.string("facility", "daemon");
  if (!(facilityName in FACILITIES)) {
    throw new UsageError(`option "facility" must be one of ${Object.keys(FACILITIES).join(", ")}`);
  }
  if (target.scheme === "tls") {
    target = {
      ...target,
      caPem: readPem(r, "caFile"),
      certPem: readPem(r, "certFile"),
      keyPem: readPem(r, "keyFile"),
    };
    if (!target.caPem) {
      throw new UsageError(`option "caFile" is required for tls:// (the CA that signs the receiver)`);
    }
    if (!!target.certPem !== !!target.keyPem) {
      throw new UsageError(`options "certFile" and "keyFile" go together`);
    }
  }
  const schema = r.string("schema", "fields");
  if (schema !== "fields" && schema !== "ecs") {
    throw new UsageError(`option "schema" must be "fields" or "ecs"`);
  }
  const header: Header = {
    facility: FACILITIES[facilityName],
    hostname: r.string("hostname", hostName()),
    appName: r.string("appName", "portreporter"),
    procId: String(Deno.pid),
    sdId: r.string("sdId", "portreporter@32473"),
  };
  const withAlerts = r.boolean("alerts", true);
  const resendWindowMs = r.number("resendWindowMs", 2000, { min: 0 });
  const flushTimeoutMs = r.number("flushTimeoutMs", 3000, { min: 0 });
  const name = `syslog ${target.scheme}://${target.hostname}:${target.port}`;

  let ctx: PluginContext | undefined;
  let conn: Connection | undefined;
  let sequence = 0;
  let recent: Pending[] = [];

  async function deliver(batch: Pending[]): Promise<Outcome<Pending>> {
    if (conn?.dead) conn.close(), conn = undefined;
    try {
      conn ??= await connect(target);
      await conn.send(batch.map((p) => p.text));
    } catch (err) {
      conn?.close();
      conn = undefined;
      const cutoff = Date.now() - resendWindowMs;
      const resend = recent.filter((p) => p.sentAt >= cutoff);
      recent = [];
      return { ok: false, permanent: false, detail: (err as Error).message, resend };
    }
    const now = Date.now();
    for (const p of batch) p.sentAt = now;
    recent = recent.filter((p) => p.sentAt >= now - resendWindowMs).concat(batch);
    return { ok: true };
  }

  const queue = new DeliveryQueue<Pending>({
    capacity: r.number("queueSize", 10_000, { min: 1, max: 1_000_000 }),
    batchSize: r.number("batchSize", 100, { min: 1, max: 10_000 }),
    backoffMs: r.number("backoffMs", 500, { min: 1 }),
    maxBackoffMs: r.number("maxBackoffMs", 30_000, { min: 1 }),
    deliver,
    log: (line) => ctx?.log(line),
    name,
  });

  function message(fields: EventFields, severity: number): Pending {
    sequence = sequence >= 2 ** 31 - 1 ? 1 : sequence + 1;
    const body = schema === "ecs" ? flatten(toEcs(fields)) : fields;
    const text = formatMessage(header, {
      time: fields.time,
      msgId: fields.event,
      severity,
      fields: body,
      sequenceId: sequence,
      text: describeRecord(fields),
    });
    return { text, sentAt: 0 };
  }

  return {
    apiVersion: 1,
    id: "syslog",
    init(_options, context) {
      ctx = context;
    },
    onChanges(changes: readonly Change[]) {
      queue.push(changes.map((c) => message(changeFields(c, header.hostname), SEVERITY.info)));
    },
    onAlerts(alerts: readonly Alert[]) {
      if (!withAlerts) return;
      queue.push(alerts.map((a) => {
        const fields: EventFields = {
          v: 1,
          event: "alert",
          time: new Date(a.time).toISOString(),
          host: header.hostname,
          plugin: a.pluginId,
          severity: a.severity,
          message: a.message,
          data: a.data,
        };
        return message(fields, a.severity === "critical" ? SEVERITY.critical : SEVERITY[a.severity] ?? 6);
      }));
    },
    async close() {
      const left = await queue.close(flushTimeoutMs);
      conn?.close();
      const s = queue.stats;
      if (left > 0 || s.dropped > 0) {
        ctx?.log(`${name}: ${left} records not delivered at shutdown, ${s.dropped} dropped`);
      }
    },
  };
});

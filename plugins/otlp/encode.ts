/**
 * OTLP logs in the JSON encoding of OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
 * an `ExportLogsServiceRequest` with one resource (service.name, host.name), one scope, and one
 * `LogRecord` per record. As that encoding requires, 64-bit integers (`timeUnixNano`, `intValue`) are
 * decimal strings, enums (`severityNumber`) are numbers, and field names are lowerCamelCase. Pure.
 *
 * @module
 */

/** An OTLP `AnyValue`. */
export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } };

/** An OTLP `KeyValue`. */
export interface KeyValue {
  key: string;
  value: AnyValue;
}

/** Severity numbers of the OpenTelemetry log data model (INFO 9, WARN 13, ERROR 17). */
export const SEVERITY_NUMBER = { info: 9, warning: 13, critical: 17 } as const;

/** Any JSON value as an `AnyValue` (`undefined`/`null` give `undefined`: the attribute is left out). */
export function anyValue(v: unknown): AnyValue | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "number") return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue).filter((x) => x !== undefined) } };
  if (typeof v === "object") return { kvlistValue: { values: attributes(v as Record<string, unknown>) } };
  return { stringValue: String(v) };
}

/** An object's members as attributes (absent values left out). */
export function attributes(o: Record<string, unknown>): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, v] of Object.entries(o)) {
    const value = anyValue(v);
    if (value) out.push({ key, value });
  }
  return out;
}

/** One record to export. */
export interface LogInput {
  /** ISO time of the record. */
  time: string;
  /** The record kind (becomes `eventName` and the attribute `event.name`). */
  event: string;
  /** info / warning / critical. */
  severity: keyof typeof SEVERITY_NUMBER;
  /** The human line (the body). */
  body: string;
  /** The attributes. */
  attributes: Record<string, unknown>;
}

/** Nanoseconds since the epoch as the decimal string OTLP/JSON wants. */
export function unixNano(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? (BigInt(ms) * 1_000_000n).toString() : "0";
}

/** The `ExportLogsServiceRequest` of a batch. */
export function exportRequest(
  resource: { serviceName: string; hostName: string; version: string },
  records: readonly LogInput[],
  observedMs: number,
): Record<string, unknown> {
  const observed = (BigInt(observedMs) * 1_000_000n).toString();
  return {
    resourceLogs: [{
      resource: {
        attributes: attributes({ "service.name": resource.serviceName, "host.name": resource.hostName }),
      },
      scopeLogs: [{
        scope: { name: "portreporter", version: resource.version },
        logRecords: records.map((r) => ({
          timeUnixNano: unixNano(r.time),
          observedTimeUnixNano: observed,
          severityNumber: SEVERITY_NUMBER[r.severity],
          severityText: r.severity.toUpperCase(),
          eventName: r.event,
          body: { stringValue: r.body },
          attributes: attributes({ "event.name": r.event, ...r.attributes }),
        })),
      }],
    }],
  };
}

/** What an OTLP receiver answered in `partialSuccess` (absent or zero: everything was accepted). */
export function rejectedOf(body: unknown): { rejected: number; message: string } {
  const p = (body as { partialSuccess?: { rejectedLogRecords?: unknown; errorMessage?: unknown } })
    ?.partialSuccess;
  const rejected = Number(p?.rejectedLogRecords ?? 0);
  return {
    rejected: Number.isFinite(rejected) && rejected > 0 ? rejected : 0,
    message: typeof p?.errorMessage === "string" ? p.errorMessage : "",
  };
}

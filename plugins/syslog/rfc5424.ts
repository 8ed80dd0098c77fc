/**
 * RFC 5424 syslog messages (https://www.rfc-editor.org/rfc/rfc5424) for portreporter events, and the
 * octet-counting frame of RFC 6587 §3.4.1 used over TCP and TLS (RFC 5425 §4.3). Pure.
 *
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [meta sequenceId=".."][portreporter@32473 k="v" ...] BOM MSG`
 *
 * - MSGID is the record kind (`opened`, `closed`, `changed`, `alert`, ...);
 * - the `meta` element (RFC 5424 §7.3) carries `sequenceId`, so a receiver can spot a message delivered
 *   twice after a reconnect;
 * - the SD-ID `portreporter@32473` uses the enterprise number RFC 5612 reserves for documentation
 *   (portreporter has none of its own; set `sdId` to use yours); each PR-EVENTS field is one SD-PARAM
 *   (nested values as JSON text), with `"`, `\` and `]` escaped as §6.3.3 requires;
 * - PARAM-VALUEs and MSG are escaped with the classic grammar (src/model/text.ts), so no control character
 *   or line break from a hostile process name reaches the receiver;
 * - MSG is one human line, escaped with the classic grammar (no control character, no line break).
 *
 * @module
 */

import { escapeField } from "../../src/model/text.ts";

/** Syslog facilities by name (RFC 5424 §6.2.1, table 1). */
export const FACILITIES: Record<string, number> = {
  kern: 0,
  user: 1,
  daemon: 3,
  auth: 4,
  syslog: 5,
  authpriv: 10,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** Syslog severities used (RFC 5424 §6.2.1, table 2). */
export const SEVERITY = { critical: 2, warning: 4, notice: 5, info: 6 } as const;

/** The fixed parts of every message a plugin sends. */
export interface Header {
  /** Facility number (0–23). */
  facility: number;
  /** HOSTNAME field. */
  hostname: string;
  /** APP-NAME field. */
  appName: string;
  /** PROCID field. */
  procId: string;
  /** SD-ID of the element carrying the event's fields. */
  sdId: string;
}

/** One message to send: its kind, severity, fields, sequence number and human line. */
export interface Message {
  /** ISO 8601 time of the record (RFC 3339 profile: the `Z` form `toISOString` gives is valid). */
  time: string;
  /** MSGID: the record kind. */
  msgId: string;
  /** 0–7. */
  severity: number;
  /** The record's fields, flat (nested values become JSON text). */
  fields: Record<string, unknown>;
  /** `meta sequenceId` (1 … 2^31-1, wrapping as §7.3.1 says). */
  sequenceId: number;
  /** The MSG part. */
  text: string;
}

const BOM = "\ufeff";

/** PRINTUSASCII without `=`, space, `]` and `"`, at most `max` characters; `-` for nothing (§6). */
export function headerToken(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, "_").slice(0, max);
  return clean === "" ? "-" : clean;
}

/** An SD-NAME: PRINTUSASCII without `=`, space, `]`, `"`; 1–32 characters (§6.3.3). */
export function sdName(name: string): string {
  return name.replace(/[^\x21-\x7e]|[=\]"]/g, "_").slice(0, 32) || "_";
}

/**
 * A PARAM-VALUE: the value in the classic escaping (no control character or line break can reach a
 * line-oriented store), then `"`, `\` and `]` escaped by a backslash as §6.3.3 requires.
 */
export function sdValue(value: unknown): string {
  const text = escapeField(typeof value === "string" ? value : JSON.stringify(value) ?? "");
  return text.replace(/["\\\]]/g, (c) => "\\" + c);
}

/** The structured data of one message. */
export function structuredData(h: Header, m: Message): string {
  let params = "";
  for (const [k, v] of Object.entries(m.fields)) {
    if (v === undefined || v === null) continue;
    params += ` ${sdName(k)}="${sdValue(v)}"`;
  }
  return `[meta sequenceId="${m.sequenceId}"][${sdName(h.sdId)}${params}]`;
}

/** One RFC 5424 message (no frame, no line end). */
export function formatMessage(h: Header, m: Message): string {
  const pri = h.facility * 8 + m.severity;
  return `<${pri}>1 ${m.time} ${headerToken(h.hostname, 255)} ${headerToken(h.appName, 48)} ` +
    `${headerToken(h.procId, 128)} ${headerToken(m.msgId, 32)} ${structuredData(h, m)} ${BOM}${
      escapeField(m.text)
    }`;
}

const utf8 = new TextEncoder();

/** Octet counting (RFC 6587 §3.4.1): `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function octetFrame(message: string): Uint8Array {
  const body = utf8.encode(message);
  const head = utf8.encode(`${body.length} `);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** The human line of an endpoint record: `opened tcp 127.0.0.1:8000 -> 0.0.0.0:0 LISTEN pid 42 python3`. */
export function describeRecord(r: Record<string, unknown>): string {
  if (r.event === "alert") return `alert ${r.severity}: ${r.message}`;
  if (!("localPort" in r)) return String(r.event);
  const state = r.state ? ` ${r.state}` : "";
  const who = r.pid ? ` pid ${r.pid} ${r.processName ?? "unknown"}` : " pid 0";
  return `${r.event} ${r.protocol} ${r.localAddress}:${r.localPort} -> ${r.remoteAddress}:${r.remotePort}` +
    `${state}${who}`;
}

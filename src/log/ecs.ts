/**
 * The Elastic Common Schema (ECS) view of a PR-EVENTS record, for shippers (syslog, OTLP) and
 * `query --format ecs`. The mapping table is in the README ("Sending events elsewhere"); field
 * definitions follow the ECS reference (https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html).
 *
 * Pure: it takes the flat record exactly as PR-EVENTS holds it (see {@link eventRecord}) and returns
 * a nested ECS document. Fields ECS has no place for go under `portreporter.*`.
 *
 * @module
 */

import type { Change } from "../model/types.ts";
import { eventRecord } from "./jsonl.ts";
import { boundProcess } from "./bounds.ts";

/** A flat PR-EVENTS record (one parsed line); every field optional except `event` and `time`. */
export type EventFields = Record<string, unknown> & { event: string; time: string };

/** A change as the flat PR-EVENTS record (the same object a line of PR-EVENTS parses to). */
export function changeFields(change: Change, host: string): EventFields {
  const fields = JSON.parse(eventRecord(change, host)) as EventFields;
  // PR-EVENTS has the command line once per set (its `process` record); a shipped event carries it itself
  const commandLine = change.process ? boundProcess(change.process).commandLine : undefined;
  if (commandLine !== undefined) fields.commandLine = commandLine;
  return fields;
}

/** ECS `event.type` values for each endpoint event (ECS allows `start`, `end`, `change`, `connection`, `info`). */
const EVENT_TYPES: Record<string, string[]> = {
  opened: ["start", "connection"],
  closed: ["end", "connection"],
  changed: ["change", "connection"],
};

/** The first port of the range the OS hands out to outgoing connections (IANA 49152; Linux uses 32768). */
const EPHEMERAL_FLOOR = 32768;

/**
 * Who started a connection: `outbound` (this host), `inbound` (the peer), `listener`, or `unknown`.
 * A record's own `direction` wins (the event sources know it); otherwise a guess from the ports: an
 * ephemeral local port talking to a lower remote port is outbound, and the other way round inbound.
 */
export function initiator(r: EventFields): "outbound" | "inbound" | "listener" | "unknown" {
  if (r.direction === "outbound" || r.direction === "inbound") return r.direction;
  if (r.state === "LISTEN") return "listener";
  const lp = Number(r.localPort), rp = Number(r.remotePort);
  if (!rp) return r.protocol === "udp" ? "listener" : "unknown";
  if (lp >= EPHEMERAL_FLOOR && rp < EPHEMERAL_FLOOR) return "outbound";
  if (rp >= EPHEMERAL_FLOOR && lp < EPHEMERAL_FLOOR) return "inbound";
  return "unknown";
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

function direction(r: EventFields, who: ReturnType<typeof initiator>): string {
  if (LOOPBACK.test(String(r.localAddress ?? "")) && LOOPBACK.test(String(r.remoteAddress ?? ""))) {
    return "internal";
  }
  return who === "outbound" ? "egress" : who === "inbound" || who === "listener" ? "ingress" : "unknown";
}

function endpoint(address: unknown, port: unknown): Record<string, unknown> {
  return { ip: address, port, address };
}

function user(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const slash = value.indexOf("\\");
  return slash < 0 ? { name: value } : { name: value.slice(slash + 1), domain: value.slice(0, slash) };
}

function processOf(r: EventFields): Record<string, unknown> | undefined {
  if (!r.pid) return undefined;
  const parent = r.parentPid === undefined ? undefined : { pid: r.parentPid, name: r.parentName };
  return prune({
    pid: r.pid,
    name: r.processName,
    executable: r.processPath,
    command_line: r.commandLine,
    start: r.processStart,
    parent,
  });
}

/** Removes `undefined` members (and objects left empty) so the document carries only what is known. */
function prune<T extends Record<string, unknown>>(o: T): T {
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) delete o[k];
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      prune(v as Record<string, unknown>);
      if (Object.keys(v).length === 0) delete o[k];
    }
  }
  return o;
}

/** The `portreporter.*` part: what ECS has no field for. */
function own(r: EventFields, who: string): Record<string, unknown> {
  return {
    schema: r.v,
    event: r.event,
    state: r.state ?? undefined,
    previous_state: r.previousState ?? undefined,
    family: r.family,
    local: endpoint(r.localAddress, r.localPort),
    remote: endpoint(r.remoteAddress, r.remotePort),
    initiator: who,
    source: r.source,
    duration_exact: r.durationExact,
    services: r.services,
    holders: r.holders,
    extra: r.extra,
  };
}

/** The ECS document of one PR-EVENTS record (an endpoint change, or any other record kind). */
export function toEcs(r: EventFields): Record<string, unknown> {
  const change = r.event in EVENT_TYPES;
  const who = change ? initiator(r) : "unknown";
  const local = endpoint(r.localAddress, r.localPort);
  const remote = endpoint(r.remoteAddress, r.remotePort);
  const sides = who === "inbound"
    ? { source: remote, destination: local }
    : who === "listener"
    ? { destination: local }
    : { source: local, destination: r.remotePort ? remote : undefined };
  const durationMs = typeof r.durationMs === "number" ? r.durationMs : undefined;
  return prune({
    "@timestamp": r.time,
    ecs: { version: "8.11.0" },
    event: {
      kind: "event",
      category: change ? ["network"] : ["host"],
      type: change ? EVENT_TYPES[r.event] : ["info"],
      action: change ? `endpoint-${r.event}` : r.event,
      start: typeof r.firstSeen === "string" ? r.firstSeen : undefined,
      end: r.event === "closed" ? r.time : undefined,
      duration: durationMs === undefined ? undefined : Math.round(durationMs * 1e6),
      dataset: "portreporter.events",
    },
    network: change
      ? {
        transport: r.protocol,
        type: r.family === 6 ? "ipv6" : r.family === 4 ? "ipv4" : undefined,
        direction: direction(r, who),
      }
      : undefined,
    ...(change ? sides : {}),
    process: processOf(r),
    user: user(r.user),
    host: { name: r.host },
    portreporter: change ? own(r, who) : { event: r.event, record: { ...r } },
  });
}

/**
 * Built-in `filter`: keeps or drops changes by include/exclude rules, in CurrPorts' filter syntax
 * (`include:remote:tcp:80`) or as structured rules (`{"process": "nginx", "localPort": "8000-8100"}`),
 * plus TCP state toggles and "hide loopback". See README.md.
 *
 * @module
 */

import { UsageError } from "../../src/errors.ts";
import type { Change, Plugin } from "../../src/plugin/api.ts";
import { definePlugin } from "../../src/plugin/api.ts";
import { compileRule, isLoopbackSocket, type MatchRule, type Predicate } from "../../src/plugin/match.ts";
import { OptionReader } from "../../src/plugin/options.ts";
import { TCP_STATES, type TcpState } from "../../src/model/types.ts";

/** The options of the `filter` plugin. */
export interface FilterOptions {
  /**
   * CurrPorts-style rules, `include|exclude:local|remote|both:tcp|udp|tcpudp:<port, port range, address,
   * CIDR or address range>` or `include|exclude:process:<name glob, path glob or pid>`. A single string is
   * split on spaces, `;` and new lines (as CurrPorts does); in a list, each element is one rule.
   */
  rules?: string | string[];
  /** Structured include rules: when there is any include rule, a change must match one of them. */
  include?: MatchRule[];
  /** Structured exclude rules: a change that matches any of them is dropped (exclude wins over include). */
  exclude?: MatchRule[];
  /** Keep only TCP changes in these states (UDP changes are not affected). */
  tcpStates?: TcpState[];
  /** Drop changes whose local or remote address is a loopback address. */
  hideLoopback?: boolean;
}

/** One CurrPorts-style rule as text, turned into `{include, rule}`. */
export function parseCurrPortsRule(text: string, where: string): { include: boolean; rule: MatchRule } {
  const bad = (why: string) =>
    new UsageError(
      `${where} "${text}": ${why} (expected include|exclude:local|remote|both:tcp|udp|tcpudp:<port|address> ` +
        `or include|exclude:process:<name|path|pid>)`,
    );
  const parts = text.split(":");
  const action = parts[0]?.toLowerCase();
  if (action !== "include" && action !== "exclude") throw bad(`"${parts[0]}" is not include or exclude`);
  const side = parts[1]?.toLowerCase();
  if (side === "process") {
    const value = parts.slice(2).join(":");
    if (!value) throw bad("no process given");
    return { include: action === "include", rule: { process: value } };
  }
  if (side !== "local" && side !== "remote" && side !== "both") {
    throw bad(`"${parts[1] ?? ""}" is not local, remote, both or process`);
  }
  const proto = parts[2]?.toLowerCase();
  if (proto !== "tcp" && proto !== "udp" && proto !== "tcpudp") {
    throw bad(`"${parts[2] ?? ""}" is not tcp, udp or tcpudp`);
  }
  const value = parts.slice(3).join(":");
  if (!value) throw bad("no port or address given");
  const rule: MatchRule = proto === "tcpudp" ? {} : { protocol: proto };
  const isPort = /^\d+(\s*-\s*\d+)?(,\d+(\s*-\s*\d+)?)*$/.test(value);
  if (side === "local") rule[isPort ? "localPort" : "localAddress"] = value;
  else if (side === "remote") rule[isPort ? "remotePort" : "remoteAddress"] = value;
  else rule[isPort ? "port" : "address"] = value;
  return { include: action === "include", rule };
}

/** Compiles `filter` options into one predicate (true = keep). Throws {@link UsageError} on a bad rule. */
export function compileFilter(options: Record<string, unknown>): Predicate<Change> {
  const r = new OptionReader(options, ["rules", "include", "exclude", "tcpStates", "hideLoopback"]);
  const includes: Predicate<Change>[] = [];
  const excludes: Predicate<Change>[] = [];
  if (r.has("rules")) {
    const raw = r.raw("rules");
    const texts = typeof raw === "string"
      ? raw.split(/[\s;]+/).filter((t) => t.length > 0)
      : r.stringList("rules");
    texts.forEach((text, i) => {
      const where = `rules[${i}]`;
      const { include, rule } = parseCurrPortsRule(text.trim(), where);
      (include ? includes : excludes).push(compileRule(rule, `${where} "${text}"`));
    });
  }
  r.list("include").forEach((rule, i) => includes.push(compileRule(rule, `include[${i}]`)));
  r.list("exclude").forEach((rule, i) => excludes.push(compileRule(rule, `exclude[${i}]`)));
  let states: Set<string> | null = null;
  if (r.has("tcpStates")) {
    const list = r.stringList("tcpStates").map((s) => s.toUpperCase());
    for (const s of list) {
      if (!(TCP_STATES as readonly string[]).includes(s)) {
        throw new UsageError(`option "tcpStates": "${s}" is not a TCP state (${TCP_STATES.join(", ")})`);
      }
    }
    states = new Set(list);
  }
  const hideLoopback = r.boolean("hideLoopback", false);
  return (c) => {
    if (hideLoopback && isLoopbackSocket(c.socket)) return false;
    if (states && c.socket.protocol === "tcp" && (c.socket.state === null || !states.has(c.socket.state))) {
      return false;
    }
    if (excludes.some((m) => m(c))) return false;
    if (includes.length > 0 && !includes.some((m) => m(c))) return false;
    return true;
  };
}

/** The `filter` plugin factory. */
export default definePlugin((options: Record<string, unknown>): Plugin => {
  const keep = compileFilter(options);
  return { apiVersion: 1, id: "filter", filter: keep };
});

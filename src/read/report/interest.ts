/**
 * The "of interest" findings: every row and module checked against a {@link Watchlist}, grouped by
 * rule and subject with a count and the first and last time seen. Glob results are cached per value
 * (a large log repeats the same few names), the number of findings is capped.
 *
 * @module
 */

import type { Predicate } from "../../plugin/match.ts";
import type { ModuleSighting, ReportChange } from "./rows.ts";
import { ownerName } from "./tally.ts";
import type { Watchlist } from "./watchlist.ts";

/** What kind of rule matched. */
export type FindingKind = "port" | "process" | "module" | "user" | "address" | "hostname" | "path";

/** One finding: a rule, what matched it, how often and when. */
export interface Finding {
  /** The rule kind. */
  kind: FindingKind;
  /** What matched (a port, a process, a module path, a user, an address). */
  subject: string;
  /** Context: the process, the path, the expected paths. */
  detail: string;
  /** Times seen. */
  count: number;
  /** First time seen (ms; 0 for modules, which PR-PIDS lists without a time here). */
  first: number;
  /** Last time seen. */
  last: number;
}

const MAX_FINDINGS = 10_000;

function cached(preds: Predicate<string>[]): Predicate<string> {
  const memo = new Map<string, boolean>();
  return (v) => {
    let r = memo.get(v);
    if (r === undefined) {
      r = preds.some((p) => p(v));
      if (memo.size > 50_000) memo.clear();
      memo.set(v, r);
    }
    return r;
  };
}

/** Checks rows and modules against a watchlist. */
export class InterestFinder {
  readonly #w: Watchlist;
  readonly #found = new Map<string, Finding>();
  readonly #name?: Predicate<string>;
  readonly #path?: Predicate<string>;
  readonly #user?: Predicate<string>;
  readonly #module?: Predicate<string>;
  readonly #hosts = new Map<string, string>();
  readonly #wrongPath = new Map<string, boolean>();
  /** Findings not kept because the cap was reached. */
  dropped = 0;

  /** @param watchlist the compiled watchlist */
  constructor(watchlist: Watchlist) {
    this.#w = watchlist;
    if (watchlist.processes?.name.length) this.#name = cached(watchlist.processes.name);
    if (watchlist.processes?.path.length) this.#path = cached(watchlist.processes.path);
    if (watchlist.users) {
      // `guest` and `*guest` match `TEST\guest` too: the account name without its domain
      const users = watchlist.users;
      this.#user = cached([(u) => users.some((g) => g(u) || g(u.slice(u.lastIndexOf("\\") + 1)))]);
    }
    if (watchlist.modules) this.#module = cached(watchlist.modules);
    for (const h of watchlist.hostnames) {
      this.#hosts.set(h.name.toLowerCase(), h.name);
      for (const a of h.addresses) this.#hosts.set(a, h.name);
    }
  }

  /** Checks one opened or changed endpoint. */
  see(r: ReportChange): void {
    const w = this.#w;
    const who = `${ownerName(r)} (pid ${r.pid})`;
    if (w.ports?.(r.localPort)) this.#add("port", `${r.protocol}/${r.localPort}`, `local, ${who}`, r.time);
    if (r.remotePort && w.ports?.(r.remotePort)) {
      this.#add("port", `${r.protocol}/${r.remotePort}`, `remote ${r.remoteAddress}, ${who}`, r.time);
    }
    const name = r.processName;
    if (name !== undefined && this.#name?.(name)) this.#add("process", name, r.processPath ?? "", r.time);
    if (r.processPath !== undefined && this.#path?.(r.processPath)) {
      this.#add("process", ownerName(r), r.processPath, r.time);
    }
    if (r.user !== undefined && this.#user?.(r.user)) this.#add("user", r.user, who, r.time);
    if (w.addresses?.(r.remoteAddress)) this.#add("address", r.remoteAddress, who, r.time);
    const host = this.#hosts.get(r.remoteAddress);
    if (host !== undefined) this.#add("hostname", host, `${r.remoteAddress}, ${who}`, r.time);
    if (r.host !== undefined && this.#hosts.has(r.host.toLowerCase())) {
      this.#add("hostname", r.host, "the logged computer", r.time);
    }
    if (name !== undefined && r.processPath !== undefined) this.#checkPath(name, r.processPath, r.time);
  }

  /** Checks one module of a PR-PIDS entry. */
  seeModule(m: ModuleSighting): void {
    if (this.#module?.(m.path) || this.#module?.(m.path.split(/[\\/]/).at(-1)!)) {
      this.#add("module", m.path, `${m.processName} (pid ${m.pid})`, 0);
    }
  }

  /** The findings, most frequent first within each kind. */
  findings(): Finding[] {
    const order: FindingKind[] = ["path", "process", "module", "user", "address", "hostname", "port"];
    return [...this.#found.values()].sort((a, b) =>
      order.indexOf(a.kind) - order.indexOf(b.kind) || b.count - a.count
    );
  }

  #checkPath(name: string, path: string, time: number): void {
    const expected = this.#w.expectedPaths.get(name.toLowerCase());
    if (!expected) return;
    const key = `${name}\0${path}`;
    let wrong = this.#wrongPath.get(key);
    if (wrong === undefined) {
      wrong = !expected.match.some((m) => m(path));
      this.#wrongPath.set(key, wrong);
    }
    if (wrong) this.#add("path", name, `runs from ${path}; expected ${expected.patterns.join(" or ")}`, time);
  }

  #add(kind: FindingKind, subject: string, detail: string, time: number): void {
    const key = `${kind}\0${subject}\0${detail}`;
    const f = this.#found.get(key);
    if (f) {
      f.count++;
      f.last = Math.max(f.last, time);
    } else if (this.#found.size >= MAX_FINDINGS) this.dropped++;
    else this.#found.set(key, { kind, subject, detail, count: 1, first: time, last: time });
  }
}

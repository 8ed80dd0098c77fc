/**
 * Built-in `webhook`: POSTs alerts as JSON to a URL, in the background: a bounded queue (the oldest alerts
 * are dropped and counted when it is full), batches in order, retries with capped exponential backoff, a
 * timeout per request, and credentials from an environment variable. Secrets never reach a log line: the
 * token is never printed and messages name the endpoint by its origin only (no user info, path or query).
 * See README.md.
 *
 * @module
 */

import { UsageError } from "../../src/errors.ts";
import type { Alert, Plugin, PluginContext } from "../../src/plugin/api.ts";
import { definePlugin } from "../../src/plugin/api.ts";
import { describeError } from "../../src/plugin/hooks.ts";
import { OptionReader } from "../../src/plugin/options.ts";
import { abortableSleep } from "../../src/abortable_sleep.ts";

/** The body of every request. */
export interface WebhookPayload {
  /** The alerts of this request, oldest first. */
  alerts: Alert[];
  /** How many alerts were dropped (queue full, or refused by the server) since the previous request. */
  dropped: number;
}

/** `https://user:pass@host:8443/path?q` → `https://host:8443`: the only form of the URL that is ever logged. */
export function redactUrl(url: string | URL): string {
  try {
    return new URL(url).origin;
  } catch {
    return "<invalid url>";
  }
}

/** Removes every URL (keeping only its origin) and every given secret from a message. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(/\b(?:https?|wss?):\/\/[^\s)"'<>]+/gi, (u) => {
    const tail = /[.,;:]+$/.exec(u)?.[0] ?? "";
    return redactUrl(u.slice(0, u.length - tail.length)) + tail;
  });
  for (const secret of secrets) if (secret.length > 0) out = out.replaceAll(secret, "***");
  return out;
}

type Attempt = { ok: true } | { ok: false; permanent: boolean; detail: string };

/** The `webhook` plugin factory. */
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Whether a header value has no CR, LF or other control character (they would split or break the request). */
function headerValueOk(value: string): boolean {
  // deno-lint-ignore no-control-regex
  return !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value);
}

export default definePlugin((options: Record<string, unknown>): Plugin => {
  const r = new OptionReader(options, [
    "url",
    "authEnv",
    "authScheme",
    "headers",
    "queueSize",
    "batchSize",
    "timeoutMs",
    "backoffMs",
    "maxBackoffMs",
    "flushTimeoutMs",
  ]);
  let target: URL;
  try {
    target = new URL(r.string("url"));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`option "url" is not a valid URL`);
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new UsageError(`option "url" must be an http:// or https:// URL, got ${target.protocol}//`);
  }
  const authEnv = r.string("authEnv", undefined, true);
  const authScheme = r.string("authScheme", "Bearer");
  const extraHeaders = r.stringMap("headers");
  if (Object.keys(extraHeaders).some((k) => k.toLowerCase() === "authorization")) {
    throw new UsageError(
      `option "headers" must not carry Authorization: name an environment variable in "authEnv"`,
    );
  }
  for (const [name, value] of Object.entries(extraHeaders)) {
    if (!HEADER_NAME.test(name)) {
      throw new UsageError(`option "headers": ${JSON.stringify(name)} is not a header name`);
    }
    if (!headerValueOk(value)) {
      throw new UsageError(
        `option "headers": the value of ${name} contains a line break or a control character (not shown); remove it`,
      );
    }
  }
  if (!headerValueOk(authScheme) || /\s/.test(authScheme)) {
    throw new UsageError(`option "authScheme" must be one word without control characters`);
  }
  const queueSize = r.number("queueSize", 1000, { min: 1, max: 1_000_000 });
  const batchSize = r.number("batchSize", 20, { min: 1, max: 10_000 });
  const timeoutMs = r.number("timeoutMs", 5000, { min: 1 });
  const backoffMs = r.number("backoffMs", 500, { min: 1 });
  const maxBackoffMs = r.number("maxBackoffMs", 30_000, { min: 1 });
  const flushTimeoutMs = r.number("flushTimeoutMs", 3000, { min: 0 });

  const origin = redactUrl(target);
  const secrets: string[] = [];
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders };
  if (target.username || target.password) {
    // Never let user info travel in the URL (or appear in an error message): send it as Basic auth instead.
    const user = decodeURIComponent(target.username);
    const pass = decodeURIComponent(target.password);
    if (!authEnv) {
      const bytes = new TextEncoder().encode(`${user}:${pass}`);
      const basic = btoa(String.fromCharCode(...bytes));
      secrets.push(basic);
      headers["authorization"] = `Basic ${basic}`;
    }
    target.username = "";
    target.password = "";
  }
  secrets.push(
    target.pathname.length > 1 ? target.pathname : "",
    target.search.length > 1 ? target.search : "",
  );

  let ctx: PluginContext | undefined;
  const log = (line: string) => ctx?.log(redact(line, secrets));
  const queue: Alert[] = [];
  let droppedSinceSent = 0;
  let droppedTotal = 0;
  let dropping = false;
  let failing = false;
  let failedAttempts = 0;
  let loop: Promise<void> | null = null;
  const stop = new AbortController();

  async function attempt(body: string): Promise<Attempt> {
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]);
    try {
      const res = await fetch(target, { method: "POST", headers, body, signal, redirect: "manual" });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const permanent = res.status >= 300 && res.status < 500 && res.status !== 408 && res.status !== 429;
      return {
        ok: false,
        permanent,
        detail: `HTTP ${res.status}${res.status < 400 ? " (redirects are not followed)" : ""}`,
      };
    } catch (err) {
      const timedOut = err instanceof DOMException && err.name === "TimeoutError";
      return {
        ok: false,
        permanent: false,
        detail: timedOut
          ? `no answer within ${timeoutMs} ms`
          : redact(describeError(err).replace(/ \(at file:[^)]*\)$/, ""), secrets),
      };
    }
  }

  async function deliver(): Promise<void> {
    while (queue.length > 0 && !stop.signal.aborted) {
      const batch = queue.splice(0, batchSize);
      const dropped = droppedSinceSent;
      droppedSinceSent = 0;
      let body: string;
      try {
        body = JSON.stringify({ alerts: batch, dropped } satisfies WebhookPayload);
      } catch (err) {
        log(
          `${origin}: ${batch.length} alerts could not be serialised, dropped (${describeError(err)})`,
        );
        droppedSinceSent += dropped + batch.length;
        droppedTotal += batch.length;
        continue;
      }
      for (let n = 0;; n++) {
        const result = await attempt(body);
        if (result.ok) {
          if (failing) log(`${origin}: delivering again after ${failedAttempts} failed attempts`);
          failing = false;
          failedAttempts = 0;
          break;
        }
        if (result.permanent) {
          log(`${origin}: ${result.detail}; ${batch.length} alerts dropped (not retried)`);
          droppedSinceSent += dropped + batch.length;
          droppedTotal += batch.length;
          break;
        }
        failedAttempts++;
        if (!failing) {
          failing = true;
          log(
            `${origin}: delivery failed (${result.detail}); retrying with backoff, alerts wait in the queue`,
          );
        }
        const delay = Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(n, 30)) * (0.8 + 0.4 * Math.random());
        await abortableSleep(delay, stop.signal);
        if (stop.signal.aborted) {
          queue.unshift(...batch);
          droppedSinceSent += dropped;
          return;
        }
      }
      if (queue.length === 0) dropping = false;
    }
  }

  function kick(): void {
    if (loop || stop.signal.aborted) return;
    loop = deliver().finally(() => {
      loop = null;
      if (queue.length > 0) kick();
    });
  }

  return {
    apiVersion: 1,
    id: "webhook",
    init(_options, context) {
      ctx = context;
      if (authEnv) {
        let token: string | undefined;
        try {
          token = Deno.env.get(authEnv);
        } catch (err) {
          throw new UsageError(
            `cannot read environment variable ${authEnv} (option authEnv): ${describeError(err)}`,
          );
        }
        if (!token) {
          throw new UsageError(`environment variable ${authEnv} (option authEnv) is not set or empty`);
        }
        if (!headerValueOk(token)) {
          throw new UsageError(
            `environment variable ${authEnv} (option authEnv) contains a line break or a control character ` +
              `(its value is not shown); set it to the token alone`,
          );
        }
        secrets.push(token);
        headers["authorization"] = `${authScheme} ${token}`;
      }
    },
    onAlerts(alerts) {
      if (stop.signal.aborted) return;
      queue.push(...alerts);
      if (queue.length > queueSize) {
        const excess = queue.length - queueSize;
        queue.splice(0, excess);
        droppedSinceSent += excess;
        droppedTotal += excess;
        if (!dropping) {
          dropping = true;
          log(`${origin}: queue full (${queueSize} alerts); dropping the oldest until it drains`);
        }
      }
      kick();
    },
    async close() {
      if (loop) {
        const waited = new AbortController();
        await Promise.race([loop, abortableSleep(flushTimeoutMs, waited.signal)]);
        waited.abort();
      }
      stop.abort();
      await loop;
      if (queue.length > 0) log(`${origin}: ${queue.length} alerts not delivered at shutdown`);
      if (droppedTotal > 0) log(`${origin}: ${droppedTotal} alerts dropped in total`);
    },
  };
});

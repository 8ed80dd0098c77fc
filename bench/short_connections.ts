/**
 * Load for the event-capture benchmark: makes short loopback TCP connections to a port and reports
 * each one's life as this process measured it.
 *
 *     deno run -A short_connections.ts <port> <count> <life ms> <per second> [spread]
 *
 * Each connection connects (to 127.0.0.1, or round the `spread` addresses 127.0.0.1…: at 1 000/s for a
 * minute, one destination would run out of local ports with TIME_WAIT kept), sends 5 bytes, waits
 * `life ms`, closes. With `per second` = 0 they run
 * one after another; otherwise `per second` are started per second in batches of 10 (concurrently).
 * Prints `ready <pid>` first, then `conn <local port> <life ms> <address>` per connection, `fail <count> <error
 * name>` per kind of failure, then `done`.
 *
 * @module
 */

const [port, count, lifeMs, perSecond, spread = 1] = Deno.args.map(Number);
let next = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hello = new TextEncoder().encode("hello");
const out: string[] = [`ready ${Deno.pid}`];
console.log(out.pop());

/** Reasons connections failed, counted. */
const failures = new Map<string, number>();
function failed(error: unknown): void {
  const reason = error instanceof Error
    ? `${error.name}: ${error.message.replace(/\s+/g, "_").slice(0, 60)}`
    : String(error);
  failures.set(reason, (failures.get(reason) ?? 0) + 1);
}

async function one(): Promise<void> {
  const t0 = performance.now();
  const hostname = `127.0.0.${1 + (next++ % spread)}`;
  const connection = await Deno.connect({ hostname, port });
  await connection.write(hello);
  if (lifeMs > 0) await sleep(lifeMs);
  const localPort = (connection.localAddr as Deno.NetAddr).port;
  connection.close();
  out.push(`conn ${localPort} ${(performance.now() - t0).toFixed(1)} ${hostname}`);
}

if (perSecond === 0) {
  for (let i = 0; i < count; i++) await one();
} else {
  const batch = 10;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i += batch) {
    const due = start + (i / perSecond) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    for (let j = 0; j < batch && i + j < count; j++) pending.push(one().catch((e) => failed(e)));
  }
  await Promise.all(pending);
}
for (const [reason, n] of failures) out.push(`fail ${n} ${reason}`);
console.log(out.join("\n"));
console.log("done");

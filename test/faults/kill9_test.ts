/**
 * kill -9 in the middle of work, 20 times in a row into one directory: every JSONL line of every
 * set parses, every PR-PORTS line is one record, and every endpoint that was open when the last poll
 * that reached the disk started is in the logs (nothing older than the poll in flight is lost). Restarts within one second also exercise the stamp suffixes.
 */
import assert from "node:assert/strict";
import { eventsOf, logFiles, namesOf, portsLinesOf, startMonitor, waitForStart } from "./fault_helpers.ts";

const TRIALS = 20;

Deno.test(`kill -9 under churn, ${TRIALS} trials: every line whole, nothing older than the poll in flight lost`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "pr-kill9-" });
  const held: Deno.DatagramConn[] = [];
  try {
    const mustHave: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const before = new Set(namesOf(logFiles(dir), "EVENTS"));
      const m = startMonitor(dir, ["--interval", "100", "--max-size", "64KiB"]);
      await waitForStart(m);
      const opened: { port: number; at: number }[] = [];
      const until = Date.now() + 1300 + (trial % 5) * 150;
      while (Date.now() < until) {
        const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
        held.push(s);
        opened.push({ port: (s.addr as Deno.NetAddr).port, at: Date.now() });
        await new Promise((r) => setTimeout(r, 20));
      }
      m.child.kill("SIGKILL");
      await m.exited();
      for (const h of held.splice(0)) h.close();
      // every socket was still open when the last poll that reached the disk started: it must be there
      const files = logFiles(dir);
      const mine = new Map([...files].filter(([n]) => n.startsWith("PR-EVENTS") && !before.has(n)));
      const polls = eventsOf(mine, "killed").filter((e) => e.event === "opened").map((e) =>
        Date.parse(e.time as string)
      );
      const lastPoll = Math.max(...polls);
      mustHave.push(...opened.filter((o) => o.at + 50 < lastPoll).map((o) => o.port));
    }
    const files = logFiles(dir);
    assert.equal(namesOf(files, "INITIAL").length, TRIALS, "every start opened its own set");
    const events = eventsOf(files, "killed"); // throws on a line that does not parse
    assert.ok(events.length > TRIALS);
    const seen = new Set(
      portsLinesOf(files, undefined, "killed").filter((l) => l.split(",")[2] === "UDP").map((l) =>
        Number(l.split(",")[3])
      ),
    );
    const missing = mustHave.filter((p) => !seen.has(p));
    assert.deepEqual(
      missing,
      [],
      `${missing.length} of ${mustHave.length} endpoints seen by a written poll are missing`,
    );
  } finally {
    for (const s of held) s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

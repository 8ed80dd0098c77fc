import assert from "node:assert/strict";
import { PerfTracepointSource, PRIVATE_MOUNT_PREFIX, TRACEFS } from "./tracepoint.ts";
import type { TracedClose } from "./capture.ts";
import { joinKeyOfText } from "./samples_test_util.ts";

const root = Deno.uid() === 0;
const tmp = Deno.env.get("TMPDIR") || "/tmp";
/** Private mounts (and their directories) made by `pid`. */
const leftovers = (pid = Deno.pid) => [
  ...Deno.readTextFileSync("/proc/self/mounts").split("\n").filter((l) =>
    l.includes(`${PRIVATE_MOUNT_PREFIX}${pid}-`)
  ),
  ...[...Deno.readDirSync(tmp)].map((e) => e.name).filter((n) =>
    n.startsWith(`${PRIVATE_MOUNT_PREFIX}${pid}-`)
  ),
];
const tracefsMounted = () => Deno.readTextFileSync("/proc/self/mounts").includes(` ${TRACEFS} tracefs `);

Deno.test({
  name:
    "live: the tracepoint names this process's connect; tracefs is left as found, no private mount remains",
  ignore: !root,
  async fn() {
    const mountedBefore = tracefsMounted();
    const source = new PerfTracepointSource();
    try {
      assert.deepEqual(leftovers(), []);
      assert.equal(tracefsMounted(), mountedBefore);
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      const server = await listener.accept();
      const clientPort = (client.localAddr as Deno.NetAddr).port;
      client.close();
      server.close();
      listener.close();
      const closes = new Map<string, TracedClose>();
      const key = joinKeyOfText(`tcp4 127.0.0.1 ${clientPort} 127.0.0.1 ${port}`);
      for (let i = 0; i < 50 && !closes.has(key); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        source.drain(closes);
      }
      const traced = closes.get(key);
      assert.equal(traced?.pid, Deno.pid);
      assert.equal(traced?.openState, "ESTABLISHED");
      assert.ok(traced!.openedAt! <= traced!.closedAt);
      assert.equal(source.lost, 0);
    } finally {
      source.close();
    }
  },
});

Deno.test({
  name: "live: a private tracefs mount left by a killed run is removed at the next start",
  ignore: !root || tracefsMounted(),
  async fn() {
    const exited = new Deno.Command("true").spawn();
    const dead = exited.pid;
    await exited.status;
    const stale = Deno.makeTempDirSync({ prefix: `${PRIVATE_MOUNT_PREFIX}${dead}-` });
    const mount = new Deno.Command("mount", { args: ["-t", "tracefs", "nodev", stale] }).outputSync();
    assert.equal(mount.code, 0);
    new PerfTracepointSource().close();
    assert.deepEqual(leftovers(dead), [], "the dead run's mount and directory are gone");
    assert.deepEqual(leftovers(), []);
  },
});

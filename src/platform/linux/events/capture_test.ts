import assert from "node:assert/strict";
import type { SocketRecord } from "../../../model/types.ts";
import { joinKeyOf } from "./join_key.ts";
import { EventCapture, type TracedClose, type TraceSource } from "./capture.ts";
import type { DestroyListener } from "./destroy_listener.ts";

const client: SocketRecord = {
  protocol: "tcp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: 40000,
  remoteAddress: "127.0.0.1",
  remotePort: 8080,
  state: "ESTABLISHED",
  pid: 0,
  inode: 77,
};

/** A trace source whose rings hold `closes` (read by the first drain) and no live connection. */
function fakeTrace(closes: [string, TracedClose][]): TraceSource & { drains: number } {
  return {
    fds: [],
    lost: 0,
    drains: 0,
    drain(into) {
      this.drains++;
      for (const [key, close] of closes.splice(0)) into.set(key, close);
    },
    connectedBy: () => undefined,
    close() {},
  };
}

Deno.test("ownerHint: a connection that closed after the dump listed it is named by its traced close", () => {
  const trace = fakeTrace([[joinKeyOf(client)!, { pid: 4242, closedAt: 1, openedAt: 0 }]]);
  const capture = new EventCapture({
    clock: { now: () => 0 },
    openDestroy: () => {
      throw new Error("no destroy notifications here");
    },
    openTrace: () => trace,
  });
  try {
    assert.equal(capture.ownerHint(client), 4242, "read from the rings once, then named");
    assert.equal(capture.ownerHint({ ...client, localPort: 40001 }), undefined, "another connection");
    assert.equal(trace.drains, 1, "the rings are read once per poll for hints");
    assert.equal(capture.ownerHint({ ...client, remotePort: 0 }), undefined, "listeners are not hinted");
  } finally {
    void capture.close();
  }
});

Deno.test("a process gone before it could be read is named by its exec, its user from the socket's uid", async () => {
  let onPid: (pid: number) => void = () => {};
  const traced = new Map<string, TracedClose>();
  const trace: TraceSource = {
    fds: [],
    lost: 0,
    drain(into) {
      onPid(31337); // the connect, named by the tracepoint
      for (const [key, close] of traced) into.set(key, close);
      traced.clear();
    },
    connectedBy: () => undefined,
    close() {},
  };
  const destroyed = [{ socket: { ...client, state: "CLOSED" as const }, cookie: 9, uid: 1234 }];
  const destroy = {
    fd: -1, // never readable: the test reads by hand
    stats: { received: 0, overruns: 0 },
    drain(out: unknown[]) {
      out.push(...destroyed.splice(0));
      return out.length;
    },
    close() {},
  };
  const capture = new EventCapture({
    clock: { now: () => 1000 },
    openDestroy: () => destroy as unknown as DestroyListener,
    openTrace: (named) => (onPid = named, trace),
    openExec: () => ({
      fds: [],
      lost: 0,
      drain() {},
      execOf: (pid) => pid === 31337 ? { path: "/tmp/x/be\u00e4con", time: 990 } : undefined,
      close() {},
    }),
    describe: (pid) => ({ pid, name: "unknown", partial: "gone: /proc/31337/stat" }),
    userOf: (uid) => uid === 1234 ? "mallory" : undefined,
  });
  try {
    traced.set(joinKeyOf(client)!, { pid: 31337, openedAt: 995, closedAt: 999 });
    const [event] = capture.take({});
    assert.equal(event.socket.pid, 31337);
    assert.deepEqual(
      [event.process?.name, event.process?.path, event.process?.user],
      ["be\u00e4con", "/tmp/x/be\u00e4con", "mallory"],
    );
    assert.match(event.process!.partial!, /exited before it could be read.*user from its socket/);
  } finally {
    await capture.close();
  }
});

Deno.test("a process gone before it could be read is read again at most once per poll, however many samples name it", async () => {
  let onPid: (pid: number) => void = () => {};
  const trace: TraceSource = {
    fds: [],
    lost: 0,
    drain() {
      for (let i = 0; i < 1000; i++) onPid(31337); // an exiting process closing 1 000 sockets
      onPid(4242);
    },
    connectedBy: () => undefined,
    close() {},
  };
  const reads = new Map<number, number>();
  const capture = new EventCapture({
    clock: { now: () => 1000 },
    openDestroy: () => {
      throw new Error("no destroy notifications here");
    },
    openTrace: (named) => (onPid = named, trace),
    describe: (pid) => {
      reads.set(pid, (reads.get(pid) ?? 0) + 1);
      return pid === 4242
        ? { pid, name: "web", path: "/usr/bin/web" }
        : { pid, name: "unknown", partial: "gone" };
    },
  });
  try {
    capture.take({});
    assert.deepEqual([...reads], [[31337, 1], [4242, 1]]);
    capture.take({});
    assert.deepEqual(
      [...reads],
      [[31337, 2], [4242, 1]],
      "the next poll tries the gone one once more; a known one is kept",
    );
  } finally {
    await capture.close();
  }
});

Deno.test("a process read as gone is still named by its exec when the exec is read later in the same poll", async () => {
  let onPid: (pid: number) => void = () => {};
  let execKnown = false;
  const trace: TraceSource = {
    fds: [],
    lost: 0,
    drain(into) {
      onPid(31337); // its connect: gone before it could be read, its exec not read yet
      execKnown = true; // the exec ring is read since (by an owner hint, or the next read)
      onPid(31337); // its close
      into.set(joinKeyOf(client)!, { pid: 31337, openedAt: 995, closedAt: 999 });
    },
    connectedBy: () => undefined,
    close() {},
  };
  const destroyed = [{ socket: { ...client, state: "CLOSED" as const }, cookie: 9, uid: 0 }];
  const capture = new EventCapture({
    clock: { now: () => 1000 },
    openDestroy: () =>
      ({
        fd: -1,
        stats: { received: 0, overruns: 0 },
        drain(out: unknown[]) {
          out.push(...destroyed.splice(0));
          return out.length;
        },
        close() {},
      }) as unknown as DestroyListener,
    openTrace: (named) => (onPid = named, trace),
    openExec: () => ({
      fds: [],
      lost: 0,
      drain() {},
      execOf: (pid) => execKnown && pid === 31337 ? { path: "/usr/bin/nc", time: 990 } : undefined,
      close() {},
    }),
    describe: (pid) => ({ pid, name: "unknown", partial: "gone" }),
  });
  try {
    const [event] = capture.take({});
    assert.deepEqual([event.socket.pid, event.process?.name, event.process?.path], [
      31337,
      "nc",
      "/usr/bin/nc",
    ]);
  } finally {
    await capture.close();
  }
});

import assert from "node:assert/strict";
import { checkLogDirTrust, type PathInfo, pathText, type TrustProbe } from "./dir_trust.ts";

const dir = (uid: number, mode: number): PathInfo => ({ uid, mode, isDirectory: true, isSymlink: false });

function probe(uid: number, tree: Record<string, PathInfo>, links: Record<string, string> = {}): TrustProbe {
  return { uid, lstat: (p) => tree[p], realPath: (p) => links[p] ?? p };
}

const base = { "/": dir(0, 0o755), "/var": dir(0, 0o755), "/tmp": dir(0, 0o1777) };

Deno.test("trusted: root- or self-owned, not group/other-writable; a root sticky parent is fine", () => {
  assert.equal(checkLogDirTrust("/var/log/pr", probe(0, { ...base, "/var/log": dir(0, 0o755) })), undefined);
  assert.equal(checkLogDirTrust("/tmp/pr", probe(1000, { ...base, "/tmp/pr": dir(1000, 0o700) })), undefined);
  assert.equal(
    checkLogDirTrust("/tmp/new/deeper", probe(0, base)),
    undefined,
    "missing parts are created 0700",
  );
});

Deno.test("refused: 0777, another user's, a symlink, a writable parent; each says how to fix it", () => {
  const cases: [string, TrustProbe, RegExp][] = [
    [
      "/tmp/pr",
      probe(0, { ...base, "/tmp/pr": dir(0, 0o777) }),
      /\/tmp\/pr is writable by others \(mode 0777\); run 'chmod go-w \/tmp\/pr'/,
    ],
    [
      "/tmp/pr",
      probe(0, { ...base, "/tmp/pr": dir(1000, 0o700) }),
      /owned by uid 1000, not by root or the monitor's user \(uid 0\); run 'chown 0/,
    ],
    [
      "/tmp/pr",
      probe(0, { ...base, "/tmp/pr": { ...dir(1000, 0o777), isSymlink: true, isDirectory: false } }),
      /is a symbolic link/,
    ],
    [
      "/srv/x/pr",
      probe(0, { ...base, "/srv": dir(0, 0o755), "/srv/x": dir(0, 0o775) }),
      /\/srv\/x is writable by its group \(mode 0775\)/,
    ],
    [
      "/home/eve/pr",
      probe(0, { ...base, "/home": dir(0, 0o755), "/home/eve": dir(1000, 0o755) }),
      /\/home\/eve is owned by uid 1000/,
    ],
    [
      "/srv/w/pr",
      probe(0, { ...base, "/srv": dir(1000, 0o1777), "/srv/w": dir(0, 0o755) }),
      /\/srv is owned by uid 1000/,
    ],
    // a parent that is a link is checked where it leads
    [
      "/l/pr",
      probe(0, { ...base, "/l": { ...dir(0, 0o777), isSymlink: true }, "/evil": dir(1000, 0o755) }, {
        "/l": "/evil",
      }),
      /\/evil is owned by uid 1000/,
    ],
  ];
  for (const [path, p, pattern] of cases) {
    assert.match(checkLogDirTrust(path, p) ?? "(trusted)", pattern, path);
  }
});

Deno.test("no uid (Windows): the POSIX check does not apply", () => {
  assert.equal(
    checkLogDirTrust("C:\\logs", { uid: null, lstat: () => undefined, realPath: (p) => p }),
    undefined,
  );
});

Deno.test("paths in messages: control characters escaped, backslashes (Windows paths) as they are", () => {
  assert.equal(pathText("C:\\logs\\pr"), "C:\\logs\\pr");
  assert.equal(pathText("/tmp/a\nb\x1b"), "/tmp/a\\x0ab\\x1b");
});

/**
 * The account-name cache rules against an injected fake of LookupAccountSidW (a domain controller that
 * is unreachable, then back; a name longer than the first buffer). Under wine every lookup succeeds.
 */
import assert from "node:assert/strict";
import { AccountNames, type LookupAccountSidCall, sidToString } from "./accounts.ts";

const SID = new Uint8Array([
  1,
  5,
  0,
  0,
  0,
  0,
  0,
  5,
  21,
  0,
  0,
  0,
  1,
  0,
  0,
  0,
  2,
  0,
  0,
  0,
  3,
  0,
  0,
  0,
  0xe9,
  3,
  0,
  0,
]);

function put(buf: Uint16Array, s: string): void {
  for (let i = 0; i < s.length; i++) buf[i] = s.charCodeAt(i);
}

/** A fake that fails while `down` is true, else answers `domain\name` (122 when a buffer is short). */
function fakeLookup(state: { down: boolean; name: string; domain: string }): LookupAccountSidCall {
  return (_sid, name, nl, domain, dl) => {
    if (state.down) return Promise.resolve(0);
    if (nl[0] <= state.name.length || dl[0] <= state.domain.length) {
      nl[0] = state.name.length + 1;
      dl[0] = state.domain.length + 1;
      return Promise.resolve(0);
    }
    put(name, state.name);
    put(domain, state.domain);
    nl[0] = state.name.length;
    dl[0] = state.domain.length;
    return Promise.resolve(1);
  };
}

Deno.test("accounts: sidToString", () => {
  assert.equal(sidToString(SID), "S-1-5-21-1-2-3-1001");
  assert.equal(sidToString(new Uint8Array([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0])), "S-1-5-18");
});

Deno.test("accounts: a failed lookup is retried after a doubling backoff, then cached once it resolves", async () => {
  let now = 0;
  const state = { down: true, name: "svc-web", domain: "CORP" };
  const a = new AccountNames({
    call: fakeLookup(state),
    now: () => now,
    retryMinMs: 60_000,
    retryMaxMs: 200_000,
  });
  assert.equal(await a.resolve(SID), undefined);
  assert.equal(a.calls, 1);
  now = 59_999;
  assert.equal(await a.resolve(SID), undefined, "within the backoff: no call");
  assert.equal(a.calls, 1);
  now = 60_000;
  assert.equal(await a.resolve(SID), undefined);
  assert.equal(a.calls, 2, "retried after 60 s");
  now = 60_000 + 119_999;
  await a.resolve(SID);
  assert.equal(a.calls, 2, "second wait doubled to 120 s");
  now = 60_000 + 120_000;
  state.down = false;
  assert.equal(await a.resolve(SID), "CORP\\svc-web");
  assert.equal(a.calls, 3);
  state.down = true;
  now += 10_000_000;
  assert.equal(await a.resolve(SID), "CORP\\svc-web", "a resolved name is kept");
  assert.equal(a.calls, 3);
  assert.equal(a.cached("S-1-5-21-1-2-3-1001"), "CORP\\svc-web");
});

Deno.test("accounts: the backoff stops at retryMaxMs", async () => {
  let now = 0;
  const a = new AccountNames({
    call: fakeLookup({ down: true, name: "", domain: "" }),
    now: () => now,
    retryMinMs: 1000,
    retryMaxMs: 3000,
  });
  const callsAt: number[] = [];
  for (now = 0; now <= 20_000; now += 500) {
    const before = a.calls;
    await a.resolve(SID);
    if (a.calls > before) callsAt.push(now);
  }
  assert.deepEqual(callsAt, [0, 1000, 3000, 6000, 9000, 12000, 15000, 18000]);
});

Deno.test("accounts: a name longer than the first buffer grows (122) and resolves in the same lookup", async () => {
  const long = "x".repeat(700);
  const a = new AccountNames({ call: fakeLookup({ down: false, name: long, domain: "D".repeat(300) }) });
  assert.equal(await a.resolve(SID), `${"D".repeat(300)}\\${long}`);
  assert.equal(a.calls, 2);
});

Deno.test("accounts: concurrent lookups of one SID share one call", async () => {
  let calls = 0;
  const inner = fakeLookup({ down: false, name: "n", domain: "d" });
  const a = new AccountNames({ call: (...args) => (calls++, inner(...args)) });
  const [x, y] = await Promise.all([a.resolve(SID), a.resolve(SID.slice())]);
  assert.equal(x, "d\\n");
  assert.equal(y, "d\\n");
  assert.equal(calls, 1);
});

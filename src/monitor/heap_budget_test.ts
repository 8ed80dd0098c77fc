import assert from "node:assert/strict";
import { HEAP_BUDGET_FRACTION, HEAP_BUDGET_MIN_BYTES, HeapBudget, type HeapControl } from "./heap_budget.ts";
import { runMonitor } from "./monitor.ts";
import { LogSet } from "../log/log_set.ts";
import { memoryFs } from "../log/memory_fs.ts";
import { LocalTime } from "../log/local_time.ts";
import type { Collector, Snapshot } from "../model/types.ts";

const MB = 1024 * 1024;

/** A heap of `used` bytes whose collection keeps `live` bytes. */
function fakeHeap(live: number) {
  const heap = { used: live, live, collected: 0, released: 0 };
  const control: HeapControl = {
    used: () => heap.used,
    collect: () => {
      heap.collected++;
      heap.used = heap.live;
    },
    release: () => {
      heap.released++;
      heap.used = heap.live;
    },
  };
  return { heap, control };
}

Deno.test("heap budget: the first check collects (no collection yet), later ones only past the budget", () => {
  const { heap, control } = fakeHeap(20 * MB);
  const budget = new HeapBudget(control);
  assert.equal(budget.check(), true, "nothing kept yet: the startup garbage goes");
  assert.equal(budget.limit, 20 * MB + 20 * MB * HEAP_BUDGET_FRACTION);
  heap.used = budget.limit;
  assert.equal(
    budget.check(),
    true,
    "the follow-up of a collection that found the heap grown (from nothing)",
  );
  heap.used = budget.limit;
  assert.equal(budget.check(), false, "at the limit: no collection");
  heap.used = budget.limit + 1;
  assert.equal(budget.check(), true, "past it: collected");
  assert.equal(heap.used, 20 * MB);
  assert.deepEqual([heap.collected, budget.collections], [3, 3]);
});

Deno.test("heap budget: a small heap may grow by HEAP_BUDGET_MIN_BYTES; the limit follows what is kept", () => {
  const { heap, control } = fakeHeap(2 * MB);
  const budget = new HeapBudget(control);
  assert.equal(budget.check(), false, "2 MB in use: within the least budget even before a collection");
  heap.used = 5 * MB;
  assert.equal(budget.check(), true);
  assert.equal(budget.limit, 2 * MB + HEAP_BUDGET_MIN_BYTES, "a quarter of 2 MB is less than the minimum");
  heap.live = 60 * MB; // the monitor now holds more sockets
  heap.used = 61 * MB;
  assert.equal(budget.check(), true);
  assert.equal(budget.limit, 75 * MB, "a quarter of the 60 MB kept");
  heap.live = 10 * MB; // they closed
  heap.used = 76 * MB;
  assert.equal(budget.check(), true);
  assert.equal(budget.limit, 10 * MB + HEAP_BUDGET_MIN_BYTES);
});

Deno.test("heap budget: a collection that finds the heap shrunk by more than its budget releases the pages", () => {
  const { heap, control } = fakeHeap(60 * MB);
  const budget = new HeapBudget(control);
  budget.check();
  assert.equal(heap.released, 0, "the first collection has nothing to compare with");
  heap.live = 46 * MB; // 14 MB freed: less than a quarter of 60 MB
  heap.used = 80 * MB;
  budget.check();
  assert.equal(heap.released, 0, "shrunk by less than a quarter: the pages stay for the heap to grow into");
  heap.live = 20 * MB; // a mass close: 26 MB of 46 freed
  heap.used = 60 * MB;
  assert.equal(budget.check(), true);
  assert.deepEqual([heap.collected, heap.released, budget.releases, budget.collections], [3, 1, 1, 4]);
  assert.equal(
    budget.limit,
    20 * MB + HEAP_BUDGET_MIN_BYTES * 1.25,
    "the limit follows what the release kept",
  );
  heap.live = 17 * MB; // 3 MB freed of 20: within HEAP_BUDGET_MIN_BYTES
  heap.used = 30 * MB;
  budget.check();
  assert.equal(
    heap.released,
    1,
    "a small heap that shrinks by less than HEAP_BUDGET_MIN_BYTES is not released",
  );
});

Deno.test("heap budget: a heap V8 already shrank on its own is released at the next check, without a collection", () => {
  const { heap, control } = fakeHeap(40 * MB);
  const budget = new HeapBudget(control);
  budget.check();
  budget.check(); // its follow-up
  heap.live = heap.used = 12 * MB; // V8's own collection after a mass close: under the limit, far below kept
  assert.equal(budget.check(), true);
  assert.deepEqual([heap.collected, heap.released], [2, 1]);
  assert.equal(budget.limit, 12 * MB + HEAP_BUDGET_MIN_BYTES);
  assert.equal(budget.check(), false, "nothing more to do");
  assert.deepEqual([heap.collected, heap.released], [2, 1]);
});

Deno.test("heap budget: after a burst the next check collects even under the limit, and releases what it freed", () => {
  const { heap, control } = fakeHeap(20 * MB);
  const budget = new HeapBudget(control);
  budget.check();
  budget.check(); // its follow-up: nothing grew
  heap.live = 40 * MB; // a burst's events and changes
  heap.used = 60 * MB;
  assert.equal(budget.check(), true);
  assert.deepEqual([heap.collected, heap.released], [3, 0]);
  heap.live = 20 * MB; // the burst is over: its objects are garbage, but the heap is under the limit
  heap.used = 41 * MB;
  assert.ok(heap.used < budget.limit);
  assert.equal(budget.check(), true, "the follow-up collection");
  assert.deepEqual([heap.collected, heap.released], [4, 1], "then the release of what it freed");
  heap.used = 22 * MB;
  assert.equal(budget.check(), false, "no follow-up after a collection that found the heap shrunk");
});

Deno.test("the monitor checks the budget after each poll of its loop, between polls", async () => {
  const steps: string[] = [];
  const stop = new AbortController();
  let now = Date.UTC(2026, 0, 1);
  const clock = { now: () => now };
  let polls = 0;
  const collector: Collector = {
    collect(): Promise<Snapshot> {
      steps.push("poll");
      if (++polls === 4) stop.abort();
      return Promise.resolve({ time: now, sockets: [], processes: new Map(), warnings: {} });
    },
    hostInfo: () => ({ computerName: "H", osName: "OS" }),
    close() {},
  };
  let used = 0;
  const budget = new HeapBudget({
    used: () => (steps.push("used"), used += 5 * MB),
    collect: () => (steps.push("collect"), used = 0),
    release: () => steps.push("release"),
  });
  await runMonitor({
    collector,
    logSet: new LogSet({
      dir: "/x",
      host: { computerName: "H", osName: "OS" },
      localTime: new LocalTime("UTC"),
      fs: memoryFs().fs,
    }),
    clock,
    monotonic: clock,
    intervalMs: 1000,
    signal: stop.signal,
    log: () => {},
    sleep: (ms) => (now += ms, Promise.resolve()),
    heap: budget,
  });
  // the first poll opens the set; each later one is followed by a check (5 MB more each time: a collection)
  assert.deepEqual(steps, [
    ...["poll"],
    ...["poll", "used", "collect", "used"],
    ...["poll", "used", "collect", "used"],
    ...["poll", "used", "collect", "used"],
  ]);
  assert.equal(budget.collections, 3);
});

/**
 * Two clocks: the wall clock gives timestamps, the monotonic clock gives the schedule and every
 * duration. The timeline follows their difference: when the wall clock moves more than
 * {@link CLOCK_JUMP_MS} against the monotonic one between two polls (set back, set forward, a VM
 * resumed), that is a clock jump.
 *
 * The diff is fed the *continuous* time (the wall time at start plus the monotonic time elapsed), so
 * its durations are monotonic; {@link FirstSeenWall} turns its first-seen times back into the wall
 * time the opening poll logged.
 *
 * @module
 */

import type { Change, Clock } from "../model/types.ts";

/** A wall-clock move larger than this (either way) between two polls is a clock jump. */
export const CLOCK_JUMP_MS = 60_000;

/** The system's monotonic clock (ms since an arbitrary origin; never set back, not moved by NTP steps). */
export const monotonicClock: Clock = { now: () => performance.now() };

/** A detected clock jump. */
export interface ClockJump {
  /** What the wall clock should have read, ms since the epoch. */
  expected: number;
  /** What it read, ms since the epoch. */
  actual: number;
}

/**
 * The wall time of each poll that first saw endpoints still open, by the poll's continuous time (unique:
 * the monotonic clock only moves forward). Counted per endpoint, so it holds no more entries than open
 * endpoints.
 */
export class FirstSeenWall {
  readonly #polls = new Map<number, { wall: number; open: number }>();

  /** Entries held (polls with endpoints still open). */
  get size(): number {
    return this.#polls.size;
  }

  /** An endpoint opened in the poll at `continuous`, whose wall time was `wall`. */
  opened(continuous: number, wall: number): void {
    const entry = this.#polls.get(continuous);
    if (entry) entry.open++;
    else this.#polls.set(continuous, { wall, open: 1 });
  }

  /** The wall time logged by the poll at `continuous`, if an endpoint of it is still open. */
  wallOf(continuous: number): number | undefined {
    return this.#polls.get(continuous)?.wall;
  }

  /** An endpoint first seen at `continuous` closed. */
  closed(continuous: number): void {
    const entry = this.#polls.get(continuous);
    if (entry && --entry.open <= 0) this.#polls.delete(continuous);
  }
}

/** Follows the wall clock against the monotonic clock; see the module doc. */
export class Timeline {
  readonly #startWall: number;
  readonly #startMono: number;
  /** wall − continuous at the last observation. */
  #offset = 0;
  #lastJump: number | undefined;

  /**
   * @param wall the wall time of the first poll.
   * @param mono the monotonic time of the first poll.
   */
  constructor(wall: number, mono: number) {
    this.#startWall = wall;
    this.#startMono = mono;
  }

  /** Continuous time of the last poll that saw a clock jump (undefined: none so far). */
  get lastJump(): number | undefined {
    return this.#lastJump;
  }

  /** Continuous time of a monotonic reading: the start's wall time plus the monotonic time since. */
  continuous(mono: number): number {
    return this.#startWall + (mono - this.#startMono);
  }

  /** A wall time (as the clock read at the last observation) on the continuous timeline. */
  toContinuous(wall: number): number {
    return wall - this.#offset;
  }

  /** A continuous time expressed in the wall clock as it reads at the last observation. */
  toWall(continuous: number): number {
    return continuous + this.#offset;
  }

  /**
   * Takes one poll's wall and monotonic readings; returns the jump when the wall clock moved more than
   * {@link CLOCK_JUMP_MS} against the monotonic one since the last poll. Smaller drift (NTP slewing)
   * is followed silently.
   */
  observe(wall: number, mono: number): ClockJump | undefined {
    const offset = wall - this.continuous(mono);
    const moved = offset - this.#offset;
    const expected = wall - moved;
    this.#offset = offset;
    if (Math.abs(moved) <= CLOCK_JUMP_MS) return undefined;
    this.#lastJump = this.continuous(mono);
    return { expected, actual: wall };
  }
}

/**
 * Restamps the changes of one poll, diffed on the continuous timeline, in wall time: `firstSeen` as
 * the opening poll logged it (see {@link FirstSeenWall}), `time` as the clock reads now (`now` is the
 * poll's continuous time, `wallNow` its wall time), durations rounded to the ms.
 */
export function restampChanges(
  changes: Change[],
  timeline: Timeline,
  firstSeen: FirstSeenWall,
  now: number,
  wallNow: number,
): void {
  const jump = timeline.lastJump;
  let pairedClose = false;
  for (let i = 0; i < changes.length; i++) { // indexed: no iterator per poll
    const change = changes[i];
    const first = change.firstSeen;
    // An endpoint only an event saw comes as its `opened` and `closed` together, both restamped with
    // this poll's offset: a first-seen record of its open would be dropped at once.
    const paired = pairedClose;
    pairedClose = change.kind === "opened" && change.source === "event" && isItsClose(changes[i + 1], first);
    if (change.kind === "opened" && !pairedClose) firstSeen.opened(first, Math.round(timeline.toWall(first)));
    if (change.durationMs !== undefined && jump !== undefined && first < jump) {
      // an event's own open time was read in the clock before the jump: time it from first seen instead
      change.durationMs = change.time - first;
    }
    change.time = change.time === now ? wallNow : Math.round(timeline.toWall(change.time));
    change.firstSeen = firstSeen.wallOf(first) ?? Math.round(timeline.toWall(first));
    if (change.kind === "closed" && !paired) firstSeen.closed(first);
    if (change.durationMs !== undefined) change.durationMs = Math.round(change.durationMs);
  }
}

/** Whether `next` is the event's `closed` of an endpoint whose event `opened` was first seen at `first`. */
function isItsClose(next: Change | undefined, first: number): boolean {
  return next !== undefined && next.kind === "closed" && next.source === "event" && next.firstSeen === first;
}

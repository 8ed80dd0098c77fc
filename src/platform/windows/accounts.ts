/**
 * `DOMAIN\user` of a process token, with a cache whose rules fit a domain-joined server:
 *
 * - A name that resolved is cached for the life of the process (SIDs are never reused).
 * - A lookup that fails is NOT cached for good: a domain controller that is unreachable at boot would
 *   otherwise leave `S-1-5-21-…` in the logs until a restart. The SID text is used meanwhile and the lookup
 *   is tried again after a backoff (1 min, doubling to 1 h) — so a deleted account (ERROR_NONE_MAPPED),
 *   which will never resolve, costs one call an hour.
 * - A buffer too small (ERROR_INSUFFICIENT_BUFFER, 122) is grown to the sizes the call reports and the
 *   call repeated at once. LookupAccountSidW reports those sizes only in that case (its documentation:
 *   "If the function fails because the buffer is too small … cchName receives the required buffer size"),
 *   which is how 122 is told apart from the other failures without GetLastError.
 *
 * LookupAccountSidW is `nonblocking` (it can wait seconds for a domain controller): it runs on a worker
 * thread, so the JS thread (and with it the service's HandlerEx) stays free. Its error code is set on that
 * other thread and CANNOT be read with GetLastError from JS, so failures are not told apart by code: every
 * failure but 122 takes the backoff above (the exact ERROR_NONE_MAPPED rule would need the code).
 * https://learn.microsoft.com/windows/win32/api/winbase/nf-winbase-lookupaccountsidw
 *
 * @module
 */

/** LookupAccountSidW's shape (the DLL box's symbol, minus the system name); tests inject a fake. */
export type LookupAccountSidCall = (
  sid: Uint8Array<ArrayBuffer>,
  name: Uint16Array<ArrayBuffer>,
  nameChars: Uint32Array<ArrayBuffer>,
  domain: Uint16Array<ArrayBuffer>,
  domainChars: Uint32Array<ArrayBuffer>,
  use: Uint32Array<ArrayBuffer>,
) => Promise<number>;

/** Options of {@link AccountNames}. */
export interface AccountNamesOptions {
  /** The lookup (default: advapi32's nonblocking LookupAccountSidW). */
  call?: LookupAccountSidCall;
  /** The clock, ms (default `Date.now`). */
  now?: () => number;
  /** First wait before a failed SID is looked up again, ms (default 60 000). */
  retryMinMs?: number;
  /** Longest wait, ms (default 3 600 000). */
  retryMaxMs?: number;
}

/** Longest name or domain accepted from a grow (characters; Windows limits both far below). */
const MAX_CHARS = 4096;

/** `S-1-5-21-…` text of the SID bytes (pure). */
export function sidToString(sid: Uint8Array): string {
  const count = sid[1];
  let auth = 0;
  for (let i = 2; i < 8; i++) auth = auth * 256 + sid[i];
  const dv = new DataView(sid.buffer, sid.byteOffset, sid.byteLength);
  const subs: number[] = [];
  for (let i = 0; i < count && 8 + 4 * i + 4 <= sid.byteLength; i++) subs.push(dv.getUint32(8 + 4 * i, true));
  return `S-${sid[0]}-${auth}${subs.map((s) => `-${s}`).join("")}`;
}

/** The account names of SIDs, cached by the rules in the module doc. */
export class AccountNames {
  readonly #names = new Map<string, string>();
  readonly #failed = new Map<string, { retryAt: number; waitMs: number }>();
  readonly #inFlight = new Map<string, Promise<string | undefined>>();
  readonly #call: LookupAccountSidCall;
  readonly #now: () => number;
  readonly #minMs: number;
  readonly #maxMs: number;
  /** LookupAccountSidW calls made (for tests and diagnostics). */
  calls = 0;

  /** @param options the lookup, the clock and the retry backoff. */
  constructor(options: AccountNamesOptions = {}) {
    this.#call = options.call ?? defaultLookup;
    this.#now = options.now ?? Date.now;
    this.#minMs = options.retryMinMs ?? 60_000;
    this.#maxMs = options.retryMaxMs ?? 3_600_000;
  }

  /** The cached name of `sidText`, if it resolved (never calls the OS). */
  cached(sidText: string): string | undefined {
    return this.#names.get(sidText);
  }

  /**
   * `DOMAIN\user` of `sid`, or undefined when it does not resolve (now, or within the backoff of an
   * earlier failure: the caller shows the SID text). Concurrent lookups of one SID share one call.
   */
  resolve(sid: Uint8Array): Promise<string | undefined> {
    const key = sidToString(sid);
    const hit = this.#names.get(key);
    if (hit) return Promise.resolve(hit);
    const failed = this.#failed.get(key);
    if (failed && this.#now() < failed.retryAt) return Promise.resolve(undefined);
    let p = this.#inFlight.get(key);
    if (!p) {
      p = this.#lookup(key, sid.slice()).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, p);
    }
    return p;
  }

  async #lookup(key: string, sid: Uint8Array<ArrayBuffer>): Promise<string | undefined> {
    let name = new Uint16Array(256), domain = new Uint16Array(256);
    for (let attempt = 0; attempt < 3; attempt++) {
      const nl = new Uint32Array([name.length]),
        dl = new Uint32Array([domain.length]),
        use = new Uint32Array(1);
      this.calls++;
      const ok = await this.#call(sid, name, nl, domain, dl, use);
      if (ok) {
        const n = String.fromCharCode(...name.subarray(0, Math.min(nl[0], name.length)));
        const d = String.fromCharCode(...domain.subarray(0, Math.min(dl[0], domain.length)));
        const user = d ? `${d}\\${n}` : n;
        this.#names.set(key, user);
        this.#failed.delete(key);
        return user;
      }
      const grow = (nl[0] > name.length || dl[0] > domain.length) && nl[0] <= MAX_CHARS && dl[0] <= MAX_CHARS;
      if (!grow) break; // not 122: see the module doc
      name = new Uint16Array(Math.max(nl[0], name.length));
      domain = new Uint16Array(Math.max(dl[0], domain.length));
    }
    const before = this.#failed.get(key);
    const waitMs = before ? Math.min(this.#maxMs, before.waitMs * 2) : this.#minMs;
    this.#failed.set(key, { retryAt: this.#now() + waitMs, waitMs });
    return undefined;
  }
}

const defaultLookup: LookupAccountSidCall = async (sid, name, nl, domain, dl, use) => {
  const { advapi32 } = await import("./ffi/advapi32.ts");
  return await advapi32().LookupAccountSidW(null, sid, name, nl, domain, dl, use);
};

/**
 * Errors typed by who must act on them.
 *
 * - {@link UsageError}: the user must fix something (a flag, a config value, a directory). The CLI prints
 *   its message as one line on stderr and exits with code 2.
 * - Anything else raised while polling is an OS fault: the monitor counts and reports it and goes on.
 *
 * @module
 */

/** A mistake the user can fix: bad flag, bad config, unwritable log directory. Exit code 2. */
export class UsageError extends Error {
  /** The process exit code for this error. */
  readonly exitCode = 2;
  /** @param message one line: what is wrong and what to do about it. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A Windows or libc API call that failed with a status code. */
export class OsCallError extends Error {
  /**
   * @param api the API name, e.g. `GetExtendedTcpTable`.
   * @param code the status or errno it returned.
   * @param detail optional context, e.g. `AF_INET6`.
   */
  constructor(readonly api: string, readonly code: number, detail = "") {
    super(`${api} failed with code ${code}${detail ? ` (${detail})` : ""}`);
    this.name = "OsCallError";
  }
}

/**
 * Reporting a service's state to the SCM in order, with checkpoints that advance on REAL progress.
 *
 * SetServiceStatus's documentation: while a state is pending, the checkpoint must rise within each wait
 * hint, and "a common bug is for the service to have the main thread perform the initialization while a
 * separate thread continues to call SetServiceStatus, incrementing the check point" — the SCM then never
 * learns that the start hangs. So {@link StatusReporter.progress} advances the checkpoint only when the
 * host made a step (settings read, tables read, a batch of processes read), and the host fails a start
 * that takes longer than its bound instead of pending forever.
 * https://learn.microsoft.com/windows/win32/api/winsvc/nf-winsvc-setservicestatus
 *
 * @module
 */

import type { ScmBox, StatusHandle } from "../platform/windows/scm.ts";
import {
  SERVICE_RUNNING,
  SERVICE_START_PENDING,
  SERVICE_STOP_PENDING,
  SERVICE_STOPPED,
  type ServiceStatus,
} from "../platform/windows/service_layouts.ts";

/** Wait hint of START_PENDING, ms: the longest one step of the start may take. */
export const START_WAIT_HINT_MS = 30_000;
/** Wait hint of STOP_PENDING, ms (the monitor flushes and closes its files). */
export const STOP_WAIT_HINT_MS = 20_000;

/**
 * Reports statuses in order (the SetServiceStatus calls are chained). Once STOP_PENDING was reported,
 * RUNNING is not; after STOPPED nothing is.
 */
export class StatusReporter {
  readonly #scm: ScmBox;
  readonly #handle: StatusHandle;
  #chain: Promise<void> = Promise.resolve();
  #status: ServiceStatus = { currentState: 0 };
  #checkPoint = 0;
  /** Every status sent, in order (for tests and diagnostics). */
  readonly sent: ServiceStatus[] = [];

  /** @param scm the SCM box. @param handle the status handle RegisterServiceCtrlHandlerExW returned. */
  constructor(scm: ScmBox, handle: StatusHandle) {
    this.#scm = scm;
    this.#handle = handle;
  }

  /** The last state reported (0 before the first). */
  get state(): number {
    return this.#status.currentState;
  }

  /** Reports `status` (checkpoint 1 for a new pending state); resolves once it reached the SCM. */
  report(status: ServiceStatus): Promise<void> {
    const state = status.currentState;
    if (this.state === SERVICE_STOPPED) return this.#chain;
    if (state === SERVICE_RUNNING && this.state === SERVICE_STOP_PENDING) return this.#chain;
    if (state === this.state && isPending(state)) return this.progress();
    this.#status = status;
    this.#checkPoint = isPending(state) ? 1 : 0;
    return this.#send();
  }

  /** One step of real progress in a pending state: the checkpoint rises. No-op in other states. */
  progress(): Promise<void> {
    if (!isPending(this.state)) return this.#chain;
    this.#checkPoint++;
    return this.#send();
  }

  #send(): Promise<void> {
    const state = this.#status.currentState;
    const status: ServiceStatus = {
      ...this.#status,
      checkPoint: this.#checkPoint,
      waitHint: state === SERVICE_START_PENDING
        ? START_WAIT_HINT_MS
        : state === SERVICE_STOP_PENDING
        ? STOP_WAIT_HINT_MS
        : 0,
    };
    this.sent.push(status);
    this.#chain = this.#chain
      .then(() => this.#scm.setStatus(this.#handle, status))
      .then(() => {}, () => {});
    return this.#chain;
  }
}

function isPending(state: number): boolean {
  return state === SERVICE_START_PENDING || state === SERVICE_STOP_PENDING;
}

/**
 * Faults armed for API requests (`/_emulator/faults`): the next `count` requests that match a method and a path
 * (exact, or a prefix when it ends in `*`) fail the way Stripe or the network can — a 500, a 429, a socket
 * closed with no answer, or no answer at all. Before the request runs, nothing happened; after it ran
 * (`afterExecuting`), the change took effect and only the answer was lost, as when Stripe did the work but the
 * response never arrived.
 */
import type { ServerResponse } from 'node:http';

/** How a faulted request fails. */
export type RequestFaultKind = 'server_error' | 'connection_reset' | 'timeout' | 'rate_limit';

export const REQUEST_FAULT_KINDS: readonly RequestFaultKind[] = [
  'server_error',
  'connection_reset',
  'timeout',
  'rate_limit',
];

/** A fault armed for the next `count` matching API requests. */
export interface RequestFault {
  method: string;
  /** `/v1/…`; a trailing `*` matches every path that starts with what comes before it. */
  path: string;
  fault: RequestFaultKind;
  /** Matching requests still to fail. */
  count: number;
  /** The request takes effect (and is kept for idempotency) before its answer is lost. */
  afterExecuting: boolean;
}

function matches(fault: RequestFault, method: string, path: string): boolean {
  if (fault.method !== method) return false;
  return fault.path.endsWith('*') ? path.startsWith(fault.path.slice(0, -1)) : path === fault.path;
}

/** The armed faults, oldest first, and the requests held open by `timeout` faults. */
export class RequestFaults {
  private readonly pending: RequestFault[] = [];
  private readonly held = new Set<ServerResponse>();

  arm(fault: RequestFault): void {
    this.pending.push({ ...fault });
  }

  /** The fault this request meets, using up one of its count; null when no armed fault matches. */
  take(method: string, path: string): RequestFault | null {
    const index = this.pending.findIndex((fault) => matches(fault, method, path));
    const fault = this.pending[index];
    if (fault === undefined) return null;
    fault.count -= 1;
    if (fault.count === 0) this.pending.splice(index, 1);
    return { ...fault };
  }

  list(): RequestFault[] {
    return this.pending.map((fault) => ({ ...fault }));
  }

  /** Forget every armed fault; returns how many there were. */
  clear(): number {
    return this.pending.splice(0).length;
  }

  /** Keep a request open without ever answering it; it ends when the client gives up or on `release`. */
  hold(res: ServerResponse): void {
    this.held.add(res);
    res.once('close', () => this.held.delete(res));
  }

  /** Close the sockets of every held request, so a reset or a shutdown leaves nothing hanging. */
  release(): void {
    for (const res of [...this.held]) res.destroy();
    this.held.clear();
  }
}

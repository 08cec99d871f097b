/** The API requests the emulator received, oldest first, for `GET /_emulator/requests`. */
import type { Clock } from './clock.ts';

/** One API request as the log shows it. */
export interface LoggedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  /** The API key the request was made with, redacted (`sk_test_…wxyz`); null without one. */
  apiKey: string | null;
  status: number;
  replayed: boolean;
  /** ISO time the request arrived, on the emulator's clock. */
  createdAt: string;
}

interface Pending {
  entry: LoggedRequest;
  done: boolean;
}

/** Requests in arrival order; a request appears once its response has been sent. */
export class RequestLog {
  private readonly requests: Pending[] = [];
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Note a request on arrival; call the returned function with its final status and replay flag. */
  arrived(
    method: string,
    path: string,
    idempotencyKey: string | null,
    apiKey: string | null = null,
  ): (status: number, replayed: boolean) => void {
    const pending: Pending = {
      entry: {
        method,
        path,
        idempotencyKey,
        apiKey,
        status: 0,
        replayed: false,
        createdAt: new Date(this.clock.now()).toISOString(),
      },
      done: false,
    };
    this.requests.push(pending);
    return (status, replayed) => {
      pending.entry.status = status;
      pending.entry.replayed = replayed;
      pending.done = true;
    };
  }

  list(): LoggedRequest[] {
    return this.requests.filter((request) => request.done).map((request) => ({ ...request.entry }));
  }

  clear(): void {
    this.requests.length = 0;
  }
}

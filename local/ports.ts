/**
 * Ports of the local stack: a busy port is one clear line naming the port and the variable that moves it,
 * and tests take free ports so they run beside a developer's `npm start`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A port the stack needs is already taken by another process. */
export class PortInUseError extends Error {
  readonly port: number;
  readonly variable: string;

  constructor(port: number, variable: string) {
    super(`Port ${port} is already in use: stop what listens there or set ${variable} to another port.`);
    this.name = 'PortInUseError';
    this.port = port;
    this.variable = variable;
  }
}

/** Listen on `port` (0: any free one) and resolve with the bound port; EADDRINUSE becomes `PortInUseError`. */
export function listen(server: Server, port: number, host: string, variable: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, variable) : error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Close a server, ending idle keep-alive connections so the port is free when this resolves. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Fail with `PortInUseError` unless `port` can be bound on every given host. Used before starting a
 * process that cannot report the conflict itself (DynamoDB Local).
 */
export async function assertPortFree(port: number, hosts: readonly string[], variable: string): Promise<void> {
  if (port === 0) return;
  for (const host of hosts) {
    const probe = createServer();
    await listen(probe, port, host, variable);
    await closeServer(probe);
  }
}

/** A port that is free right now on `host` (the OS picks it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const probe = createServer();
  const port = await listen(probe, 0, host, 'port');
  await closeServer(probe);
  return port;
}

/**
 * The chaos run's shop admin: while cashiers take payments and faults fly, spare readers are registered (the same
 * request sent twice with one Idempotency-Key), relabelled, taken offline and back, deleted through the API, and
 * deleted behind the API's back (the Dashboard); the cashiers' readers are asked to be deleted while busy. Every
 * one of these races the reconciler's reader list, a refresh and the other admin calls. After the run, the stored
 * fleet must be Stripe's: the same readers, labels and statuses, and no deleted reader left in it.
 */
import type Stripe from 'stripe';
import type { ReaderResource } from '../../../shared/payments/resource.ts';
import { api, type LocalStack } from '../../support/stack.ts';
import { emulatorControl, sleep } from '../support/probes.ts';
import type { Random } from './random.ts';

export interface FleetStats {
  registered: number;
  relabelled: number;
  deletedByApi: number;
  deletedAtStripe: number;
  busyRefused: number;
  /** Every answer, `METHOD route status`. */
  answers: Map<string, number>;
  problems: string[];
}

export class FleetAdmin {
  readonly stats: FleetStats = {
    registered: 0,
    relabelled: 0,
    deletedByApi: 0,
    deletedAtStripe: 0,
    busyRefused: 0,
    answers: new Map(),
    problems: [],
  };
  private readonly stack: LocalStack;
  private readonly stripe: Stripe;
  private readonly random: Random;
  private readonly spares: { id: string; locationId: string }[] = [];
  private stopped = false;

  constructor(stack: LocalStack, stripe: Stripe, random: Random) {
    this.stack = stack;
    this.stripe = stripe;
    this.random = random;
  }

  stop(): void {
    this.stopped = true;
  }

  private answered(method: string, route: string, status: number): void {
    const key = `${method} ${route} ${status}`;
    this.stats.answers.set(key, (this.stats.answers.get(key) ?? 0) + 1);
    if (status >= 500) this.stats.problems.push(`admin: ${key}`);
  }

  private call<T>(method: string, path: string, route: string, body?: unknown, headers?: Record<string, string>) {
    return api<T>(this.stack, method, path, {
      token: this.stack.state.adminToken,
      ...(body === undefined ? {} : { body }),
      ...(headers === undefined ? {} : { headers }),
    }).then((response) => {
      this.answered(method, route, response.status);
      return response;
    });
  }

  /** One admin act every few hundred milliseconds until `stop()`. */
  async run(intervalMs: [number, number]): Promise<void> {
    for (let step = 0; !this.stopped; step += 1) {
      await sleep(this.random.between(...intervalMs));
      if (this.stopped) break;
      try {
        await this.act(step);
      } catch (error) {
        this.stats.problems.push(`admin act failed: ${(error as Error).message.slice(0, 200)}`);
      }
    }
  }

  private async act(step: number): Promise<void> {
    const locations = this.stack.state.locations;
    const spare = this.spares.length === 0 ? undefined : this.random.pick(this.spares);
    const choice = this.spares.length < 2 ? 0 : this.random.between(0, 5);
    if (choice === 0) {
      const location = this.random.pick(locations);
      const key = `chaos-reader-${step}`;
      const body = { registrationCode: 'simulated-wpe', locationId: location.id, label: `Spare ${step}` };
      const [first, twin] = await Promise.all([
        this.call<{ reader: ReaderResource }>('POST', '/readers', 'POST /readers', body, { 'Idempotency-Key': key }),
        this.call<{ reader: ReaderResource }>('POST', '/readers', 'POST /readers', body, { 'Idempotency-Key': key }),
      ]);
      const made = [first, twin].filter((answer) => answer.status === 201);
      const ids = new Set(made.map((answer) => answer.body.reader.id));
      if (ids.size > 1) this.stats.problems.push(`one Idempotency-Key registered ${ids.size} readers: ${[...ids]}`);
      const [id] = ids;
      if (id !== undefined) {
        this.spares.push({ id, locationId: location.id });
        this.stats.registered += 1;
      }
    } else if (choice === 1 && spare !== undefined) {
      const answer = await this.call('PATCH', `/readers/${spare.id}`, 'PATCH /readers/{id}', {
        label: `Relabelled ${step}`,
      });
      if (answer.status === 200) this.stats.relabelled += 1;
    } else if (choice === 2 && spare !== undefined) {
      await emulatorControl(this.stack, `readers/${spare.id}/${this.random.chance(0.5) ? 'offline' : 'online'}`);
    } else if (choice === 3 && spare !== undefined) {
      this.forget(spare.id);
      const answer = await this.call('DELETE', `/readers/${spare.id}`, 'DELETE /readers/{id}');
      if (answer.status === 204) this.stats.deletedByApi += 1;
      else this.stats.problems.push(`DELETE of an idle spare reader answered ${answer.status}`);
    } else if (choice === 4 && spare !== undefined) {
      // Deleted in the Dashboard: the reconciler has to find out.
      this.forget(spare.id);
      await this.stripe.terminal.readers.del(spare.id);
      this.stats.deletedAtStripe += 1;
    } else {
      // A cashier's reader: deleted only when idle; while it holds a payment the answer is 409 reader_busy. The
      // admin never means to retire it: a 204 would take it from the cashiers, so only a busy one is asked about.
      const location = this.random.pick(locations);
      const readerId = this.random.pick(location.readers);
      // A look at the Dashboard, which the injected faults on reads may refuse: then the admin leaves it.
      const reader = await this.stripe.terminal.readers.retrieve(readerId).catch(() => undefined);
      if (reader === undefined || 'deleted' in reader || reader.action?.status !== 'in_progress') return;
      const answer = await this.call('DELETE', `/readers/${readerId}`, 'DELETE /readers/{id}');
      if (answer.status === 409) this.stats.busyRefused += 1;
      else if (answer.status === 204) this.stats.problems.push(`a cashier's reader ${readerId} was deleted while busy`);
    }
  }

  private forget(readerId: string): void {
    const index = this.spares.findIndex((spare) => spare.id === readerId);
    if (index >= 0) this.spares.splice(index, 1);
  }

  /** Bring the spare readers back online, so the stored fleet can settle on Stripe's. */
  async settle(): Promise<void> {
    for (const spare of this.spares) await emulatorControl(this.stack, `readers/${spare.id}/online`);
  }
}

/**
 * The stored fleet (`GET /readers` for every location, from the table) against Stripe's list: the same readers, each
 * with Stripe's label, location and status. Run after the reconciler's last run.
 */
export async function fleetProblems(stack: LocalStack, stripe: Stripe): Promise<string[]> {
  const listed = await stripe.terminal.readers.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  const stored = await api<{ readers: ReaderResource[] }>(stack, 'GET', '/readers', { token: stack.state.adminToken });
  if (stored.status !== 200) return [`GET /readers answered ${stored.status}`];
  const problems: string[] = [];
  const byId = new Map(stored.body.readers.map((reader) => [reader.id, reader]));
  for (const reader of listed) {
    const mine = byId.get(reader.id);
    const location = typeof reader.location === 'string' ? reader.location : (reader.location?.id ?? null);
    if (mine === undefined) problems.push(`reader ${reader.id} at Stripe is not in the stored fleet`);
    else if (mine.label !== reader.label || mine.locationId !== location || mine.status !== reader.status) {
      problems.push(
        `reader ${reader.id} stored as ${JSON.stringify([mine.label, mine.locationId, mine.status])}, ` +
          `Stripe has ${JSON.stringify([reader.label, location, reader.status])}`,
      );
    }
    byId.delete(reader.id);
  }
  for (const id of byId.keys()) problems.push(`reader ${id} is stored but Stripe no longer has it`);
  return problems;
}

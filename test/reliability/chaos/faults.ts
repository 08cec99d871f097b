/**
 * The chaos run's fault injector: every few hundred milliseconds one of every fault the emulator has — a reader
 * offline, busy (slow commands), command timeouts with and without delivery, connection errors before and after
 * authorization, disconnects, the customer's cancel button, webhooks dropped, held, duplicated, reversed,
 * delayed or resent, Stripe failing API requests (a create, a refund or a reader command whose answer is lost, before
 * or after Stripe did the work), refunds that fail at Stripe or stay pending — plus poison messages put straight on
 * the event queue.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import type { LocalStack } from '../../support/stack.ts';
import { emulatorControl, sleep } from '../support/probes.ts';
import type { Random } from './random.ts';

/** The `n`-th body that can never be processed (not JSON, not an event, an event of the wrong shape). */
export function poisonBody(n: number): string {
  const kinds = [
    () => `this is not JSON (poison ${n})`,
    () => JSON.stringify({ hello: 'not an event', poison: n }),
    () =>
      JSON.stringify({
        id: `evt_poison_${n}`,
        object: 'event',
        type: 'payment_intent.succeeded',
        created: 1_700_000_000,
        data: { object: { id: `pi_poison_${n}`, object: 'charge' } },
      }),
  ];
  return (kinds[n % kinds.length] as () => string)();
}

export class FaultInjector {
  /** Fault name → times injected. */
  readonly injected = new Map<string, number>();
  /** The poison bodies sent, in order. */
  readonly poisonSent: string[] = [];
  private readonly stack: LocalStack;
  private readonly stripe: Stripe;
  private readonly random: Random;
  private readonly readers: string[];
  private stopped = false;
  private readonly pending: Promise<unknown>[] = [];

  constructor(stack: LocalStack, stripe: Stripe, random: Random, readers: string[]) {
    this.stack = stack;
    this.stripe = stripe;
    this.random = random;
    this.readers = readers;
  }

  private count(name: string): void {
    this.injected.set(name, (this.injected.get(name) ?? 0) + 1);
  }

  /** Inject faults until `stop()`; `poisonEvery` faults, one poison message. */
  async run(options: { intervalMs: [number, number]; poisonEvery: number }): Promise<void> {
    for (let index = 1; !this.stopped; index += 1) {
      await sleep(this.random.between(...options.intervalMs));
      if (this.stopped) break;
      try {
        if (index % options.poisonEvery === 0) await this.poison();
        else await this.inject();
      } catch (error) {
        this.count(`control failed: ${(error as Error).message.slice(0, 80)}`);
      }
    }
  }

  /** Stop injecting, bring every reader back, deliver webhooks normally again, and release held ones. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.pending);
    for (const readerId of this.readers) await emulatorControl(this.stack, `readers/${readerId}/online`);
    await emulatorControl(this.stack, 'config', { readerCommandLatencyMs: 0 });
    await fetch(`${this.stack.emulator.url}/_emulator/faults`, { method: 'DELETE' });
    await emulatorControl(this.stack, 'webhooks', {});
    await emulatorControl(this.stack, 'webhooks/release');
  }

  private later(ms: number, action: () => Promise<unknown>): void {
    this.pending.push(sleep(ms).then(action));
  }

  private async inject(): Promise<void> {
    const random = this.random;
    const reader = random.pick(this.readers);
    const fault = random.pick([
      'reader offline',
      'reader busy',
      'command timeout',
      'command timeout after delivery',
      'command timeout, reader unreadable',
      'connection error',
      'connection error after authorization',
      'disconnect',
      'customer cancel',
      'webhooks dropped',
      'webhooks held',
      'webhooks duplicated',
      'webhooks reversed',
      'webhooks delayed',
      'webhooks duplicated, reversed and delayed',
      'event resent',
      'create fails',
      'reader command answer lost',
      'refund answer lost',
      'refund fails',
      'refund stays pending',
    ] as const);
    switch (fault) {
      case 'reader offline':
        await emulatorControl(this.stack, `readers/${reader}/offline`);
        this.later(random.between(200, 900), () => emulatorControl(this.stack, `readers/${reader}/online`));
        break;
      case 'reader busy':
        // Commands take a while to reach the reader, which is locked meanwhile: concurrent commands are busy.
        await emulatorControl(this.stack, 'config', { readerCommandLatencyMs: random.between(100, 400) });
        this.later(random.between(500, 1500), () =>
          emulatorControl(this.stack, 'config', { readerCommandLatencyMs: 0 }),
        );
        break;
      case 'command timeout':
        await emulatorControl(this.stack, `readers/${reader}/next-command`, { fault: 'timeout' });
        break;
      case 'command timeout after delivery':
        await emulatorControl(this.stack, `readers/${reader}/next-command`, { fault: 'timeout_after_delivery' });
        break;
      case 'command timeout, reader unreadable':
        // Whether the command arrived cannot be told by a read: it must stay the payment's attempt on this reader
        // until a read or its events settle it, never be taken back while the reader may run it.
        await emulatorControl(this.stack, `readers/${reader}/next-command`, {
          fault: random.pick(['timeout', 'timeout_after_delivery']),
        });
        await emulatorControl(this.stack, 'faults', {
          method: 'GET',
          path: `/v1/terminal/readers/${reader}`,
          fault: 'connection_reset',
          count: random.between(2, 6),
        });
        break;
      case 'connection error':
        await emulatorControl(this.stack, `readers/${reader}/next-authorization`, { fault: 'connection_error' });
        break;
      case 'connection error after authorization':
        await emulatorControl(this.stack, `readers/${reader}/next-authorization`, {
          fault: 'connection_error_after_authorization',
        });
        break;
      case 'disconnect':
        await emulatorControl(this.stack, `readers/${reader}/next-authorization`, { fault: 'disconnect' });
        break;
      case 'customer cancel': {
        const pressed = await emulatorControl(this.stack, `readers/${reader}/customer-cancel`, {}, () => true);
        if (pressed.status !== 200) return;
        break;
      }
      case 'webhooks dropped':
        await this.webhooksFor({ mode: 'drop' }, random.between(200, 700));
        break;
      case 'webhooks held':
        await emulatorControl(this.stack, 'webhooks', { mode: 'hold' });
        this.later(random.between(300, 1500), async () => {
          await emulatorControl(this.stack, 'webhooks', {});
          await emulatorControl(this.stack, 'webhooks/release');
        });
        break;
      case 'webhooks duplicated':
        await this.webhooksFor({ duplicate: random.between(1, 2) }, random.between(500, 2000));
        break;
      case 'webhooks reversed':
        await this.webhooksFor({ reverse: true }, random.between(500, 2000));
        break;
      case 'webhooks delayed':
        await this.webhooksFor({ delayMs: random.between(100, 1500) }, random.between(500, 2000));
        break;
      case 'webhooks duplicated, reversed and delayed':
        await this.webhooksFor(
          { duplicate: 1, reverse: true, delayMs: random.between(50, 800) },
          random.between(500, 2000),
        );
        break;
      case 'create fails':
        // A create claimed its order and then failed at Stripe: the order must never be left stranded.
        await emulatorControl(this.stack, 'faults', {
          method: 'POST',
          path: '/v1/payment_intents',
          fault: random.pick(['server_error', 'connection_reset', 'rate_limit']),
          count: random.between(1, 3),
          afterExecuting: random.chance(0.5),
        });
        break;
      case 'reader command answer lost':
        // The reader may or may not have the command: its attempt must stay in flight, never on two readers.
        await emulatorControl(this.stack, 'faults', {
          method: 'POST',
          path: `/v1/terminal/readers/${reader}/*`,
          fault: 'connection_reset',
          count: random.between(1, 3),
          afterExecuting: random.chance(0.5),
        });
        break;
      case 'refund answer lost':
        // A refund whose answer never came: the claim stays, and the same key (or the reconciler) finishes it once.
        await emulatorControl(this.stack, 'faults', {
          method: 'POST',
          path: '/v1/refunds',
          fault: random.pick(['server_error', 'connection_reset']),
          count: random.between(1, 2),
          afterExecuting: random.chance(0.5),
        });
        break;
      case 'refund fails':
        await emulatorControl(this.stack, 'refunds/next', { fault: 'fail', failureReason: 'expired_or_canceled_card' });
        break;
      case 'refund stays pending':
        await emulatorControl(this.stack, 'refunds/next', { fault: 'pending_forever' });
        break;
      case 'event resent': {
        const events = await this.stripe.events.list({ limit: 20 });
        const event = events.data.length > 0 ? random.pick(events.data) : undefined;
        if (event === undefined) return;
        await emulatorControl(this.stack, `events/${event.id}/resend`);
        break;
      }
    }
    this.count(fault);
  }

  /** A delivery setting for a while, then back to normal delivery. */
  private async webhooksFor(setting: Record<string, unknown>, ms: number): Promise<void> {
    await emulatorControl(this.stack, 'webhooks', setting);
    this.later(ms, () => emulatorControl(this.stack, 'webhooks', {}));
  }

  /** A message the processor can never apply, put straight on the event queue. */
  private async poison(): Promise<void> {
    const body = poisonBody(this.poisonSent.length);
    await this.stack.sqs.client.send(new SendMessageCommand({ QueueUrl: this.stack.sqs.queueUrl, MessageBody: body }));
    this.poisonSent.push(body);
    this.count('poison message');
  }
}

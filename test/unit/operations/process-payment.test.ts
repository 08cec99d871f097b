/**
 * Processing in memory: racing requests for one payment send the reader one command, because the attempt is claimed
 * in the store before the reader hears of it. The store is a map, Stripe a fake reader, the clock a fixed instant.
 */
import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config.ts';
import type { Dependencies } from '../../../shared/dependencies.ts';
import { processOnReader } from '../../../shared/operations/process-payment.ts';
import { InvalidStateError } from '../../../shared/payments/failures.ts';
import { getPayment, savePayment } from '../../../shared/store/payments.ts';
import { newPayment, T0 } from '../../support/fixtures.ts';
import { type MemoryStore, memoryStore } from '../../support/memory-store.ts';

const LOCATION = 'tml_A';

/** A simulated reader: it takes a process command and then shows that PaymentIntent in progress. */
function fakeReaders(readerIds: string[]) {
  const commands: { readerId: string; paymentIntentId: string; idempotencyKey: string | undefined }[] = [];
  const shown = new Map<string, string>();
  const reader = (id: string): Stripe.Terminal.Reader =>
    ({
      object: 'terminal.reader',
      id,
      label: id,
      location: LOCATION,
      device_type: 'bbpos_wisepos_e',
      status: 'online',
      action: shown.has(id)
        ? {
            type: 'process_payment_intent',
            status: 'in_progress',
            failure_code: null,
            failure_message: null,
            process_payment_intent: { payment_intent: shown.get(id) },
          }
        : null,
    }) as unknown as Stripe.Terminal.Reader;
  const client = {
    terminal: {
      readers: {
        processPaymentIntent: async (
          readerId: string,
          params: { payment_intent: string },
          options: { idempotencyKey?: string },
        ) => {
          commands.push({ readerId, paymentIntentId: params.payment_intent, idempotencyKey: options.idempotencyKey });
          // The answer comes back after the racing request has read the payment.
          await new Promise((resolve) => setImmediate(resolve));
          shown.set(readerId, params.payment_intent);
          return reader(readerId);
        },
        retrieve: async (readerId: string) => {
          if (!readerIds.includes(readerId)) throw new Error(`unknown reader ${readerId}`);
          return reader(readerId);
        },
      },
    },
  } as unknown as Stripe;
  return { client, commands };
}

function dependencies(store: MemoryStore, stripe: Stripe): Dependencies {
  return {
    store,
    stripe: async () => stripe,
    clock: { now: () => T0, sleep: async () => undefined },
    settings: parseConfig({ TABLE_NAME: store.table }),
  };
}

describe('processOnReader, in memory', () => {
  it('sends one command when two requests process the same payment at once; the other is told to look again', async () => {
    // Prepare
    const store = memoryStore();
    const payment = await savePayment(
      store,
      newPayment({ id: 'pi_race', locationId: LOCATION, createdAt: new Date(T0) }),
    );
    const readers = fakeReaders(['tmr_A']);
    const deps = dependencies(store, readers.client);
    const options = { deadline: T0 + 25_000 };

    // Act: both start from the same read of the payment
    const outcomes = await Promise.allSettled([
      processOnReader(deps, payment, 'tmr_A', options),
      processOnReader(deps, payment, 'tmr_A', options),
    ]);

    // Assess: one claimed the attempt and sent it; the other found it on its way and was told to look again
    expect(readers.commands).toEqual([
      { readerId: 'tmr_A', paymentIntentId: 'pi_race', idempotencyKey: expect.stringContaining('pi_race') },
    ]);
    const sent = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    expect(sent).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(InvalidStateError);
    expect(refused[0]).toMatchObject({ retryable: true, details: { readerId: 'tmr_A' } });
    expect(await getPayment(store, payment.id)).toMatchObject({
      attempts: 1,
      readerId: 'tmr_A',
      readerAction: { status: 'in_progress' },
    });
  });

  it('answers a repeat on the same reader with the attempt already running there, sending nothing', async () => {
    // Prepare
    const store = memoryStore();
    const payment = await savePayment(
      store,
      newPayment({ id: 'pi_again', locationId: LOCATION, createdAt: new Date(T0) }),
    );
    const readers = fakeReaders(['tmr_A']);
    const deps = dependencies(store, readers.client);
    const options = { deadline: T0 + 25_000 };
    const first = await processOnReader(deps, payment, 'tmr_A', options);

    // Act
    const again = await processOnReader(deps, first.payment, 'tmr_A', options);

    // Assess
    expect(readers.commands).toHaveLength(1);
    expect(again.payment).toMatchObject({ attempts: 1, version: first.payment.version });
  });

  it('refuses the second reader while the first still runs the payment, which never reaches it', async () => {
    // Prepare
    const store = memoryStore();
    const payment = await savePayment(
      store,
      newPayment({ id: 'pi_two', locationId: LOCATION, createdAt: new Date(T0) }),
    );
    const readers = fakeReaders(['tmr_A', 'tmr_B']);
    const deps = dependencies(store, readers.client);
    const options = { deadline: T0 + 25_000 };
    const first = await processOnReader(deps, payment, 'tmr_A', options);

    // Act
    const second = processOnReader(deps, first.payment, 'tmr_B', options);

    // Assess
    await expect(second).rejects.toBeInstanceOf(InvalidStateError);
    await expect(second).rejects.toMatchObject({ details: { readerId: 'tmr_A' } });
    expect(readers.commands.map((command) => command.readerId)).toEqual(['tmr_A']);
  });
});

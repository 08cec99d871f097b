/** The API's routes as functions for the integration tests: each builds API Gateway's event and invokes the handler. */
import { randomUUID } from 'node:crypto';
import * as createLocation from '../../../functions/locations/create.ts';
import * as listLocations from '../../../functions/locations/list.ts';
import * as cancel from '../../../functions/payments/cancel.ts';
import * as capture from '../../../functions/payments/capture.ts';
import * as create from '../../../functions/payments/create.ts';
import * as getPayment from '../../../functions/payments/get.ts';
import * as listPayments from '../../../functions/payments/list.ts';
import * as listRefunds from '../../../functions/payments/list-refunds.ts';
import * as processPayment from '../../../functions/payments/process.ts';
import * as receipt from '../../../functions/payments/receipt.ts';
import * as receiptEmail from '../../../functions/payments/receipt-email.ts';
import * as refund from '../../../functions/payments/refund.ts';
import * as update from '../../../functions/payments/update.ts';
import * as cancelAction from '../../../functions/readers/cancel-action.ts';
import * as deleteReader from '../../../functions/readers/delete.ts';
import * as getReader from '../../../functions/readers/get.ts';
import * as listReaders from '../../../functions/readers/list.ts';
import * as registerReader from '../../../functions/readers/register.ts';
import * as updateReader from '../../../functions/readers/update.ts';
import { apiEvent, invoke, type JsonBody } from '../../support/invoke.ts';

type Claims = Record<string, string> | null;

export const newOrderId = () => `order-${randomUUID().slice(0, 8)}`;

export function apiClient(claims: Claims) {
  return {
    create: (body: unknown) => invoke(create, apiEvent({ method: 'POST', route: '/payments', body, claims })),
    process: (id: string, body: unknown) =>
      invoke(
        processPayment,
        apiEvent({ method: 'POST', route: '/payments/{id}/process', params: { id }, body, claims }),
      ),
    capture: (id: string, body?: unknown) =>
      invoke(capture, apiEvent({ method: 'POST', route: '/payments/{id}/capture', params: { id }, body, claims })),
    cancel: (id: string, body?: unknown) =>
      invoke(cancel, apiEvent({ method: 'POST', route: '/payments/{id}/cancel', params: { id }, body, claims })),
    update: (id: string, body: unknown) =>
      invoke(update, apiEvent({ method: 'PATCH', route: '/payments/{id}', params: { id }, body, claims })),
    /** `key`: the `Idempotency-Key` header (null: none sent). */
    refund: (id: string, key: string | null, body?: unknown) =>
      invoke(
        refund,
        apiEvent({
          method: 'POST',
          route: '/payments/{id}/refunds',
          params: { id },
          body,
          claims,
          ...(key === null ? {} : { headers: { 'Idempotency-Key': key } }),
        }),
      ),
    receipt: (id: string) =>
      invoke(receipt, apiEvent({ method: 'GET', route: '/payments/{id}/receipt', params: { id }, claims })),
    emailReceipt: (id: string, body: unknown) =>
      invoke(
        receiptEmail,
        apiEvent({ method: 'POST', route: '/payments/{id}/receipt/email', params: { id }, body, claims }),
      ),
    listRefunds: (id: string) =>
      invoke(listRefunds, apiEvent({ method: 'GET', route: '/payments/{id}/refunds', params: { id }, claims })),
    get: (id: string, query?: Record<string, string>) =>
      invoke(
        getPayment,
        apiEvent({ method: 'GET', route: '/payments/{id}', params: { id }, claims, ...(query ? { query } : {}) }),
      ),
    list: (query?: Record<string, string>) =>
      invoke(listPayments, apiEvent({ method: 'GET', route: '/payments', claims, ...(query ? { query } : {}) })),
    listReaders: (query?: Record<string, string>) =>
      invoke(listReaders, apiEvent({ method: 'GET', route: '/readers', claims, ...(query ? { query } : {}) })),
    getReader: (id: string) =>
      invoke(getReader, apiEvent({ method: 'GET', route: '/readers/{id}', params: { id }, claims })),
    cancelAction: (id: string, body?: unknown) =>
      invoke(
        cancelAction,
        apiEvent({ method: 'POST', route: '/readers/{id}/cancel-action', params: { id }, body, claims }),
      ),
    listLocations: () => invoke(listLocations, apiEvent({ method: 'GET', route: '/locations', claims })),
    /** `key`: the `Idempotency-Key` header, if any. */
    createLocation: (body: unknown, key?: string) =>
      invoke(
        createLocation,
        apiEvent({
          method: 'POST',
          route: '/locations',
          body,
          claims,
          ...(key === undefined ? {} : { headers: { 'Idempotency-Key': key } }),
        }),
      ),
    registerReader: (body: unknown, key?: string) =>
      invoke(
        registerReader,
        apiEvent({
          method: 'POST',
          route: '/readers',
          body,
          claims,
          ...(key === undefined ? {} : { headers: { 'Idempotency-Key': key } }),
        }),
      ),
    updateReader: (id: string, body: unknown) =>
      invoke(updateReader, apiEvent({ method: 'PATCH', route: '/readers/{id}', params: { id }, body, claims })),
    deleteReader: (id: string) =>
      invoke(deleteReader, apiEvent({ method: 'DELETE', route: '/readers/{id}', params: { id }, claims })),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;

/** Poll until `check` passes (the emulator authorizes after a short delay). */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What the emulator logged of the API requests it received. */
export interface EmulatorRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number;
  replayed: boolean;
}

export async function emulatorRequests(emulatorUrl: string): Promise<EmulatorRequest[]> {
  const response = await fetch(`${emulatorUrl}/_emulator/requests`);
  return ((await response.json()) as { data: EmulatorRequest[] }).data;
}

/** Create a payment for `locationId`, process it on `readerId`, tap `cardNumber`, and wait for the outcome. */
export async function paymentThroughReader(
  client: ApiClient,
  emulatorUrl: string,
  input: {
    locationId: string;
    readerId: string;
    captureMethod?: 'manual' | 'automatic';
    amount?: number;
    cardNumber?: string;
  },
): Promise<JsonBody> {
  const created = await client.create({
    orderId: newOrderId(),
    locationId: input.locationId,
    amount: input.amount ?? 1299,
    currency: 'usd',
    captureMethod: input.captureMethod ?? 'manual',
    readerId: input.readerId,
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const form = new URLSearchParams({ type: 'card_present' });
  if (input.cardNumber !== undefined) form.set('card_present[number]', input.cardNumber);
  const tapped = await fetch(
    `${emulatorUrl}/v1/test_helpers/terminal/readers/${input.readerId}/present_payment_method`,
    {
      method: 'POST',
      headers: { authorization: 'Bearer sk_test_integration', 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    },
  );
  if (!tapped.ok) throw new Error(`present_payment_method: ${tapped.status}`);
  const settled = await eventually(
    () => client.get(created.body.payment.id, { refresh: 'true' }),
    (response) => response.body.payment.readerAction?.status !== 'in_progress',
  );
  return settled.body.payment;
}

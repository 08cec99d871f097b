/**
 * The live-updates protocol (`asyncapi.yaml`): what a client may send, and every message the service sends.
 */
import type { PaymentResource, ReaderResource } from '../payments/resource.ts';
import * as z from '../zod.ts';

const Id = z
  .string()
  .check(z.minLength(1), z.maxLength(255), z.regex(/^[A-Za-z0-9_]+$/, 'Must be a Stripe id such as pi_… or tml_….'));

/** Exactly one of `locationId` and `paymentId`. */
const Subject = z.union([z.strictObject({ locationId: Id }), z.strictObject({ paymentId: Id })]);

export const ClientMessage = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('ping') }),
  z.strictObject({ action: z.literal('subscribe'), locationId: z.optional(Id), paymentId: z.optional(Id) }),
  z.strictObject({ action: z.literal('unsubscribe'), locationId: z.optional(Id), paymentId: z.optional(Id) }),
]);

export const CLIENT_ACTIONS = ['subscribe', 'unsubscribe', 'ping'] as const;

export type Subject = z.infer<typeof Subject>;

export const ERROR_CODES = [
  'invalid_message',
  'unknown_action',
  'message_too_large',
  'not_found',
  'too_many_subscriptions',
  'token_expired',
  'unavailable',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Every `type` the service sends. */
export const SERVER_MESSAGE_TYPES = [
  'pong',
  'subscribed',
  'unsubscribed',
  'payment.updated',
  'reader.updated',
  'reader.removed',
  'error',
] as const;

export type ServerMessage =
  | { type: 'pong' }
  | { type: 'subscribed'; paymentId: string; payment: PaymentResource; version: number }
  | { type: 'subscribed'; locationId: string; readers: { reader: ReaderResource; version: number }[] }
  | { type: 'unsubscribed'; paymentId: string }
  | { type: 'unsubscribed'; locationId: string }
  | { type: 'payment.updated'; payment: PaymentResource; version: number }
  | { type: 'reader.updated'; reader: ReaderResource; version: number }
  | { type: 'reader.removed'; readerId: string; locationId: string; version: number }
  | { type: 'error'; code: ErrorCode; message: string; action?: string };

export type ParsedMessage =
  | { ok: true; action: 'ping' }
  | { ok: true; action: 'subscribe' | 'unsubscribe'; subject: Subject }
  | { ok: false; error: Extract<ServerMessage, { type: 'error' }> };

function failure(code: ErrorCode, message: string, action?: string): ParsedMessage {
  return { ok: false, error: { type: 'error', code, message, ...(action === undefined ? {} : { action }) } };
}

/** A client's frame, checked: its size, its JSON, its action and its fields. */
export function parseClientMessage(body: string | undefined, maxBytes: number): ParsedMessage {
  const text = body ?? '';
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    return failure('message_too_large', `Messages are at most ${maxBytes} bytes.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return failure('invalid_message', 'The message is not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return failure('invalid_message', 'The message must be a JSON object with an "action".');
  }
  const action = (value as { action?: unknown }).action;
  if (typeof action !== 'string' || !(CLIENT_ACTIONS as readonly string[]).includes(action)) {
    return failure(
      'unknown_action',
      `"action" must be one of ${CLIENT_ACTIONS.join(', ')}.`,
      typeof action === 'string' ? action.slice(0, 64) : undefined,
    );
  }
  const parsed = ClientMessage.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return failure('invalid_message', `${where}${issue?.message ?? 'Invalid message.'}`, action);
  }
  if (parsed.data.action === 'ping') return { ok: true, action: 'ping' };
  const subject = Subject.safeParse(
    Object.fromEntries(Object.entries(parsed.data).filter(([name]) => name !== 'action')),
  );
  if (!subject.success) return failure('invalid_message', 'Give exactly one of "locationId" and "paymentId".', action);
  return { ok: true, action: parsed.data.action, subject: subject.data };
}

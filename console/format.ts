/** How amounts, times and states read on the console. */
import type { Payment, Reader } from './types.ts';

/** Currencies without a minor unit among those a Terminal location may use. */
const ZERO_DECIMAL = new Set(['jpy', 'krw', 'vnd', 'clp', 'isk', 'huf', 'twd', 'ugx']);

export function money(amount: number, currency: string): string {
  const digits = ZERO_DECIMAL.has(currency) ? 0 : 2;
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).format(
    amount / 10 ** digits,
  );
}

/** "12.99" or "12,99" → 1299 minor units; undefined when it is not an amount. */
export function parseAmount(text: string, currency: string): number | undefined {
  const digits = ZERO_DECIMAL.has(currency) ? 0 : 2;
  const normalized = text.trim().replace(',', '.');
  const pattern = digits === 0 ? /^\d+$/ : /^\d+(\.\d{1,2})?$/;
  if (!pattern.test(normalized)) return undefined;
  return Math.round(Number(normalized) * 10 ** digits);
}

/** 1299 → "12.99": an amount as the cashier types it, for an input. */
export function amountText(amount: number, currency: string): string {
  const digits = ZERO_DECIMAL.has(currency) ? 0 : 2;
  return (amount / 10 ** digits).toFixed(digits);
}

export function time(iso: string | null): string {
  if (iso === null) return '—';
  const date = new Date(iso);
  // Today's times need no date: the console is watched through a shift.
  return date.toDateString() === new Date().toDateString()
    ? date.toLocaleTimeString()
    : date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

export const STATUS_WORDS: Record<Payment['status'], string> = {
  requires_payment_method: 'Waiting for a card',
  requires_confirmation: 'Waiting for confirmation',
  requires_action: 'Waiting for the customer',
  processing: 'Processing',
  requires_capture: 'Authorized',
  succeeded: 'Paid',
  canceled: 'Canceled',
};

export const FLAG_WORDS: Record<Payment['flags'][number], string> = {
  reader_stuck: 'Reader stuck',
  capture_deadline_approaching: 'Capture deadline near',
  authorization_expired: 'Authorization expired',
};

export const HEALTH_WORDS: Record<Reader['health'], string> = {
  ready: 'Ready',
  busy: 'Busy',
  offline: 'Offline',
  stuck: 'Stuck',
};

export function readerName(reader: Pick<Reader, 'id' | 'label'>): string {
  return reader.label ?? reader.id;
}

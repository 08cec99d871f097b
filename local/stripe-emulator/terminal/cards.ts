/**
 * Stripe's Terminal test cards and test amounts: which presented card (or amount) approves or declines, with
 * which error code, decline code and message. A decline card wins over a decline amount; amounts ending 02 / 03
 * ask for a PIN, which the simulated reader enters (1234) and approves.
 */
import { createHash } from 'node:crypto';

/** The kind of payment method presented to a reader (`present_payment_method`'s `type`). */
export type PresentedType = 'card_present' | 'interac_present' | 'card';

/** A card presented to a reader. */
export interface PresentedCard {
  type: PresentedType;
  number: string;
  brand: string;
  network: string;
  last4: string;
  expMonth: number;
  expYear: number;
  funding: string;
  country: string;
  fingerprint: string;
}

/** An authorization's outcome: approved, or declined with Stripe's card error. */
export type AuthorizationOutcome =
  | { approved: true }
  | { approved: false; code: string; declineCode: string | null; message: string };

/** Default numbers Stripe's test helper presents when none is given. */
export const DEFAULT_CARD_NUMBER: Record<PresentedType, string> = {
  card_present: '4242424242424242',
  interac_present: '4506445006931933',
  card: '4242424242424242',
};

const MESSAGES = {
  declined: 'Your card was declined.',
  insufficientFunds: 'Your card has insufficient funds.',
  expired: 'Your card has expired.',
  processing: 'An error occurred while processing your card. Try again in a little bit.',
} as const;

/** Decline cards: number → outcome. */
export const DECLINE_CARDS: Readonly<Record<string, AuthorizationOutcome>> = {
  '4000000000000002': {
    approved: false,
    code: 'card_declined',
    declineCode: 'generic_decline',
    message: MESSAGES.declined,
  },
  '4000000000009995': {
    approved: false,
    code: 'card_declined',
    declineCode: 'insufficient_funds',
    message: MESSAGES.insufficientFunds,
  },
  '4000000000009987': { approved: false, code: 'card_declined', declineCode: 'lost_card', message: MESSAGES.declined },
  '4000000000009979': {
    approved: false,
    code: 'card_declined',
    declineCode: 'stolen_card',
    message: MESSAGES.declined,
  },
  '4000000000000069': { approved: false, code: 'expired_card', declineCode: null, message: MESSAGES.expired },
  '4000000000000119': { approved: false, code: 'processing_error', declineCode: null, message: MESSAGES.processing },
};

/** Test amounts: the amount's last two digits → decline code (all `card_declined`). */
export const DECLINE_AMOUNT_ENDINGS: Readonly<Record<string, string>> = {
  '01': 'call_issuer',
  '05': 'generic_decline',
  '55': 'incorrect_pin',
  '65': 'withdrawal_count_limit_exceeded',
  '75': 'pin_try_exceeded',
};

/** The outcome of authorizing `amount` on `card`. */
export function authorizationOutcome(cardNumber: string, amount: number): AuthorizationOutcome {
  const byCard = DECLINE_CARDS[cardNumber];
  if (byCard !== undefined) return byCard;
  const declineCode = DECLINE_AMOUNT_ENDINGS[String(amount % 100).padStart(2, '0')];
  if (declineCode !== undefined) {
    return { approved: false, code: 'card_declined', declineCode, message: MESSAGES.declined };
  }
  return { approved: true };
}

function brandOf(type: PresentedType, number: string): { brand: string; network: string } {
  if (type === 'interac_present') return { brand: 'interac', network: 'interac' };
  if (/^3[47]/.test(number)) return { brand: 'amex', network: 'amex' };
  if (/^(5[1-5]|2[2-7])/.test(number)) return { brand: 'mastercard', network: 'mastercard' };
  if (/^(6011|65|64[4-9])/.test(number)) return { brand: 'discover', network: 'discover' };
  return { brand: 'visa', network: 'visa' };
}

/** What the reader reads from a card presented at `now` (epoch ms on the emulator's clock): unexpired by default. */
export function describeCard(
  type: PresentedType,
  number: string,
  now: number,
  expiry?: { month: number; year: number },
): PresentedCard {
  const { brand, network } = brandOf(type, number);
  return {
    type,
    number,
    brand,
    network,
    last4: number.slice(-4),
    expMonth: expiry?.month ?? 12,
    expYear: expiry?.year ?? new Date(now).getUTCFullYear() + 3,
    funding: 'credit',
    country: type === 'interac_present' ? 'CA' : 'US',
    fingerprint: createHash('sha256').update(number).digest('base64url').slice(0, 16),
  };
}

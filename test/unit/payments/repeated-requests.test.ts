import { describe, expect, it } from 'vitest';
import { formatMoney } from '../../../shared/payments/money.ts';
import { decideCapture, decideExistingOrder, requestedCaptureAmount } from '../../../shared/payments/rules.ts';
import type { CaptureMethod } from '../../../shared/payments/types.ts';
import { aPayment } from '../../support/fixtures.ts';

describe('decideCapture of a captured payment', () => {
  const captured = (amountReceived: number) =>
    aPayment({ status: 'succeeded', amount: 1299, amountCapturable: 0, amountReceived });

  it.each<[string, number, number | undefined]>([
    ['all of it, asked again without an amount', 1299, undefined],
    ['all of it, asked again for the full amount', 1299, 1299],
    ['part of it, asked again for that part', 1000, 1000],
  ])('answers with the payment when it captured %s', (_, amountReceived, amountToCapture) => {
    // Act
    const decision = decideCapture(captured(amountReceived), amountToCapture, false);

    // Assess
    expect(decision).toEqual({ kind: 'already_captured' });
  });

  it.each<[string, number, number | undefined, number]>([
    ['part of it, asked again without an amount (all of it)', 1000, undefined, 1299],
    ['part of it, asked again for another part', 1000, 900, 900],
    ['all of it, asked again for a part', 1299, 1000, 1000],
  ])('refuses when it captured %s, saying both amounts', (_, amountReceived, amountToCapture, requested) => {
    // Act
    const decision = decideCapture(captured(amountReceived), amountToCapture, false);

    // Assess
    expect(decision).toEqual({ kind: 'refuse', reason: 'captured_other_amount', amountReceived, requested });
  });

  it('reads a capture without an amount as one for the whole authorized amount', () => {
    // Act
    const requested = [requestedCaptureAmount({ amount: 1299 }), requestedCaptureAmount({ amount: 1299 }, 700)];

    // Assess
    expect(requested).toEqual([1299, 700]);
  });
});

describe('formatMoney', () => {
  it.each([
    [1299, 'usd', '$12.99'],
    [1299, 'eur', '€12.99'],
    [500, 'jpy', '¥500'],
    [99_999_999, 'usd', '$999,999.99'],
  ])('shows %s %s as %s, in the currency’s own decimals', (amount, currency, shown) => {
    // Act
    const text = formatMoney(amount, currency);

    // Assess
    expect(text).toBe(shown);
  });
});

describe('decideExistingOrder with a capture method', () => {
  it.each<[CaptureMethod, CaptureMethod | undefined, string]>([
    ['manual', 'manual', 'same_payment'],
    ['automatic', 'automatic', 'same_payment'],
    ['manual', undefined, 'same_payment'],
    ['manual', 'automatic', 'conflict'],
    ['automatic', 'manual', 'conflict'],
  ])('an order whose payment captures %s, asked again with %s: %s', (existing, captureMethod, kind) => {
    // Prepare
    const payment = aPayment({ captureMethod: existing });
    const requested = { amount: 1299, currency: 'usd', ...(captureMethod === undefined ? {} : { captureMethod }) };

    // Act
    const decision = decideExistingOrder(payment, requested);

    // Assess
    expect(decision.kind).toBe(kind);
  });

  it('starts a new generation after the order’s payment was canceled, whatever the capture method', () => {
    // Act
    const decision = decideExistingOrder(aPayment({ status: 'canceled', captureMethod: 'manual' }), {
      amount: 1299,
      currency: 'usd',
      captureMethod: 'automatic',
    });

    // Assess
    expect(decision.kind).toBe('new_generation');
  });
});

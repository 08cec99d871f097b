import { describe, expect, it } from 'vitest';
import {
  decideAmountUpdate,
  decideCancel,
  decideCapture,
  decideExistingOrder,
  decideProcess,
} from '../../../shared/payments/rules.ts';
import type { PaymentStatus } from '../../../shared/payments/types.ts';
import { aPayment, processing, READER } from '../../support/fixtures.ts';

describe('decideProcess', () => {
  it.each<[PaymentStatus, string]>([
    ['requires_payment_method', 'process'],
    ['processing', 'refuse'],
    ['requires_capture', 'refuse'],
    ['succeeded', 'refuse'],
    ['canceled', 'refuse'],
  ])('a payment in %s: %s', (status, kind) => {
    expect(decideProcess(aPayment({ status })).kind).toBe(kind);
  });

  it('verifies with the reader before answering for a payment whose action is in progress', () => {
    expect(decideProcess(processing([READER]))).toEqual({ kind: 'verify_in_progress', readerId: READER });
  });
});

describe('decideCapture', () => {
  it.each<[PaymentStatus, boolean, string]>([
    ['requires_capture', false, 'capture'],
    ['succeeded', false, 'already_captured'],
    ['canceled', false, 'refuse'],
    ['requires_payment_method', false, 'refresh'],
    ['requires_payment_method', true, 'refuse'],
    ['processing', false, 'refresh'],
  ])('a payment in %s (refreshed: %s): %s', (status, refreshed, kind) => {
    // A succeeded payment holds what was captured: here all of it.
    const amountReceived = status === 'succeeded' ? 1299 : 0;
    expect(decideCapture(aPayment({ status, amountCapturable: 1299, amountReceived }), undefined, refreshed).kind).toBe(
      kind,
    );
  });

  it('refuses to capture more than is capturable', () => {
    expect(decideCapture(aPayment({ status: 'requires_capture', amountCapturable: 1000 }), 1001, false)).toEqual({
      kind: 'refuse',
      reason: 'amount_exceeds_capturable',
    });
  });
});

describe('decideCancel', () => {
  it.each<[PaymentStatus, string]>([
    ['requires_payment_method', 'cancel'],
    ['requires_capture', 'cancel'],
    ['canceled', 'already_canceled'],
    ['succeeded', 'refuse'],
  ])('a payment in %s: %s', (status, kind) => {
    expect(decideCancel(aPayment({ status })).kind).toBe(kind);
  });

  it('cancels the reader action first while it is in progress', () => {
    expect(decideCancel(processing([READER]))).toEqual({ kind: 'cancel', cancelReaderActionOn: READER });
  });
});

describe('decideAmountUpdate', () => {
  it.each<[PaymentStatus, number, string]>([
    ['requires_payment_method', 1500, 'update'],
    ['requires_payment_method', 1299, 'unchanged'],
    ['requires_capture', 1500, 'refuse'],
    ['succeeded', 1500, 'refuse'],
  ])('a payment in %s to %s: %s', (status, amount, kind) => {
    expect(decideAmountUpdate(aPayment({ status }), amount).kind).toBe(kind);
  });
});

describe('decideExistingOrder', () => {
  it.each<[PaymentStatus, number, string, string]>([
    ['requires_payment_method', 1299, 'usd', 'same_payment'],
    ['succeeded', 1299, 'usd', 'same_payment'],
    ['requires_payment_method', 1300, 'usd', 'conflict'],
    ['requires_payment_method', 1299, 'eur', 'conflict'],
    ['canceled', 1299, 'usd', 'new_generation'],
    ['canceled', 999, 'usd', 'new_generation'],
  ])('an order whose payment is %s, asked again for %s %s: %s', (status, amount, currency, kind) => {
    expect(decideExistingOrder(aPayment({ status }), { amount, currency }).kind).toBe(kind);
  });

  it.each<[number, string]>([
    [1299, 'same_payment'],
    [1499, 'conflict'],
  ])('compares the amount before the tip: a 1,499 payment with a 200 tip asked again for %s is %s', (amount, kind) => {
    // Prepare
    const tipped = aPayment({ status: 'succeeded', amount: 1499, tipAmount: 200 });

    // Act
    const decision = decideExistingOrder(tipped, { amount, currency: 'usd' });

    // Assess
    expect(decision.kind).toBe(kind);
  });
});

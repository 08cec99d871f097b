import { describe, expect, it } from 'vitest';
import { authorizeAdmin, type Caller, visiblePayment, visibleReader } from '../../../shared/http/caller.ts';
import { declareResponses } from '../../../shared/http/declared-responses.ts';
import { ForbiddenError, PaymentNotFoundError, ReaderNotFoundError, toApiError } from '../../../shared/http/errors.ts';

const cashierA: Caller = { sub: 'pos-user-1', locations: ['tml_A'] };
const everywhere: Caller = { sub: 'admin', locations: '*' };

/** The error `act` throws, or undefined. */
function thrownBy(act: () => unknown): unknown {
  try {
    act();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('visiblePayment and visibleReader', () => {
  it.each([
    ['the caller’s location', cashierA, 'tml_A'],
    ['any location for *', everywhere, 'tml_B'],
  ])('hand back a payment or reader of %s', (_, caller, locationId) => {
    // Prepare
    const payment = { id: 'pi_1', locationId };
    const reader = { id: 'tmr_1', locationId };

    // Act & Assess
    expect(visiblePayment(caller, payment)).toBe(payment);
    expect(visibleReader(caller, reader)).toBe(reader);
  });

  it('answer another location’s payment exactly as an unknown one: 404 payment_not_found', () => {
    // Act
    const otherLocation = thrownBy(() => visiblePayment(cashierA, { id: 'pi_1', locationId: 'tml_B' }));
    const unknown = thrownBy(() => visiblePayment(cashierA, undefined));

    // Assess
    expect(otherLocation).toBeInstanceOf(PaymentNotFoundError);
    expect(otherLocation).toEqual(unknown);
    expect(toApiError(otherLocation)).toMatchObject({
      status: 404,
      code: 'payment_not_found',
      message: 'No payment with this id.',
    });
  });

  it.each([
    ['another location’s reader', { id: 'tmr_1', locationId: 'tml_B' }],
    ['a reader with no location', { id: 'tmr_1', locationId: null }],
    ['an unknown reader', undefined],
  ])('answer %s 404 reader_not_found', (_, reader) => {
    // Act
    const error = thrownBy(() => visibleReader(cashierA, reader));

    // Assess
    expect(error).toBeInstanceOf(ReaderNotFoundError);
    expect(toApiError(error)).toMatchObject({
      status: 404,
      code: 'reader_not_found',
      message: 'No reader with this id.',
    });
  });
});

describe('declareResponses', () => {
  it('declares 403 for every route behind the authorizer (a token without its second factor), none for public ones', () => {
    // Act
    const namesLocation = declareResponses({ success: [200], errors: [] });
    const byId = declareResponses({ success: [200], errors: ['payment_not_found'] });
    const publicRoute = declareResponses({ success: [200], errors: [], auth: 'none' });

    // Assess
    expect(namesLocation[403]).toEqual(['forbidden']);
    expect(byId[403]).toEqual(['forbidden']);
    expect(byId[404]).toEqual(['payment_not_found']);
    expect(publicRoute[403]).toBeUndefined();
  });
});

describe('authorizeAdmin', () => {
  it('lets an admin through and refuses anyone else with 403 forbidden, saying which claim is missing', () => {
    // Act
    const admin = thrownBy(() => authorizeAdmin({ sub: 'a', locations: ['tml_A'], admin: true }));
    const everywhereButNoRole = thrownBy(() => authorizeAdmin(everywhere));

    // Assess
    expect(admin).toBeUndefined();
    expect(everywhereButNoRole).toBeInstanceOf(ForbiddenError);
    expect(toApiError(everywhereButNoRole)).toMatchObject({
      status: 403,
      code: 'forbidden',
      message: expect.stringContaining('custom:role = admin'),
    });
  });
});

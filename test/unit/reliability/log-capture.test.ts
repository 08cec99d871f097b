import { describe, expect, it } from 'vitest';
import { findLeaks } from '../../reliability/support/log-capture.ts';

describe('findLeaks: card numbers', () => {
  it('does not take a request id whose digits pass the Luhn check for a card number', () => {
    // Prepare: seen in a chaos run: 4814572287924464 passes the Luhn check.
    const line = '{"message":"Ignored webhook event type","requestId":"48145722-8792-4464-a57e-4cd12aba4ef8"}';

    // Act
    const leaks = findLeaks([line]);

    // Assess
    expect(leaks).toEqual([]);
  });

  it('still finds a card number written next to a request id, grouped or not', () => {
    // Act
    const leaks = findLeaks([
      '{"requestId":"48145722-8792-4464-a57e-4cd12aba4ef8","card":"4242 4242 4242 4242"}',
      '{"requestId":"48145722-8792-4464-a57e-4cd12aba4ef8","pan":"5555555555554444"}',
    ]);

    // Assess
    expect(leaks.map((leak) => leak.kind)).toEqual(['card_number', 'card_number']);
  });
});

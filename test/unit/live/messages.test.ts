/** Client frames as the message function reads them: size, JSON, action, fields. */
import { describe, expect, it } from 'vitest';
import { parseClientMessage } from '../../../shared/live/messages.ts';

describe('parseClientMessage', () => {
  it.each([
    ['{', 'invalid_message'],
    ['', 'invalid_message'],
    ['null', 'invalid_message'],
    ['[1]', 'invalid_message'],
    ['{"action":"dance"}', 'unknown_action'],
    ['{"action":7}', 'unknown_action'],
    ['{"paymentId":"pi_1"}', 'unknown_action'],
    ['{"action":"subscribe"}', 'invalid_message'],
    ['{"action":"subscribe","paymentId":"pi_1","locationId":"tml_1"}', 'invalid_message'],
    ['{"action":"subscribe","paymentId":"pi 1"}', 'invalid_message'],
    ['{"action":"ping","x":1}', 'invalid_message'],
  ])('%s → %s', (frame, code) => {
    // Act
    const parsed = parseClientMessage(frame, 4096);

    // Assess
    expect(parsed).toMatchObject({ ok: false, error: { type: 'error', code } });
  });

  it('names the action the client asked for in the error, cut to 64 characters', () => {
    // Act
    const parsed = parseClientMessage(JSON.stringify({ action: 'a'.repeat(500) }), 4096);

    // Assess
    expect(parsed).toMatchObject({ ok: false, error: { code: 'unknown_action', action: 'a'.repeat(64) } });
  });

  it('measures the size in bytes, not characters', () => {
    // Prepare: 2,000 three-byte characters are 6,000 bytes.
    const frame = JSON.stringify({ action: 'ping', note: '€'.repeat(2_000) });

    // Act
    const parsed = parseClientMessage(frame, 4096);

    // Assess
    expect(parsed).toMatchObject({ ok: false, error: { code: 'message_too_large' } });
  });

  it('reads a subscription to a payment and to a location', () => {
    // Assess
    expect(parseClientMessage('{"action":"subscribe","paymentId":"pi_1"}', 4096)).toEqual({
      ok: true,
      action: 'subscribe',
      subject: { paymentId: 'pi_1' },
    });
    expect(parseClientMessage('{"action":"unsubscribe","locationId":"tml_1"}', 4096)).toEqual({
      ok: true,
      action: 'unsubscribe',
      subject: { locationId: 'tml_1' },
    });
    expect(parseClientMessage('{"action":"ping"}', 4096)).toEqual({ ok: true, action: 'ping' });
  });
});

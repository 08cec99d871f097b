import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config.ts';

describe('parseConfig', () => {
  it('applies the defaults', () => {
    // Act
    const config = parseConfig({ TABLE_NAME: 'payments' });

    // Assess
    expect(config).toMatchObject({
      TABLE_NAME: 'payments',
      STRIPE_TIMEOUT_MS: 8_000,
      READER_TIMEOUT_RETRIES: 2,
      STUCK_ACTION_AFTER_SECONDS: 120,
      READER_OFFLINE_ALERT_AFTER_SECONDS: 600,
      CAPTURE_WARNING_AFTER_HOURS: 36,
      STALE_AUTHORIZATION_ACTION: 'none',
    });
    expect(config).not.toHaveProperty('AUTO_CANCEL_STUCK_AFTER_SECONDS');
  });

  it('reads fractional thresholds', () => {
    // Act
    const config = parseConfig({
      TABLE_NAME: 'payments',
      STUCK_ACTION_AFTER_SECONDS: '0.5',
      CAPTURE_WARNING_AFTER_HOURS: '0.001',
      AUTO_CANCEL_STUCK_AFTER_SECONDS: '2',
    });

    // Assess
    expect(config.STUCK_ACTION_AFTER_SECONDS).toBe(0.5);
    expect(config.CAPTURE_WARNING_AFTER_HOURS).toBe(0.001);
    expect(config.AUTO_CANCEL_STUCK_AFTER_SECONDS).toBe(2);
  });

  it('names every bad variable in one error', () => {
    // Act
    const parse = () =>
      parseConfig({
        STUCK_ACTION_AFTER_SECONDS: '-1',
        READER_TIMEOUT_RETRIES: '1.5',
        STALE_AUTHORIZATION_ACTION: 'refund',
        STRIPE_API_BASE: 'not a url',
      });

    // Assess
    expect(parse).toThrow(
      /TABLE_NAME: required.*STRIPE_API_BASE: not a URL.*READER_TIMEOUT_RETRIES.*STUCK_ACTION_AFTER_SECONDS.*STALE_AUTHORIZATION_ACTION: must be one of capture, cancel, none/,
    );
  });
});

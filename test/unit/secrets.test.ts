/**
 * Secrets are kept for their max age by the injected clock, then read again: a value put in Secrets Manager (a rolled
 * Stripe key) reaches warm functions without a deploy. A re-read that fails or hangs keeps the last good value; only
 * a first read that fails is an error. The AWS path goes through Powertools' `getSecret` to a stubbed Secrets Manager
 * client (the faults it cannot be made to produce for real); the local path reads the settings as they are now.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as receiveWebhook } from '../../functions/webhook/receive.ts';
import { emulatorControls } from '../../local/stripe-emulator/control-client.ts';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import { type Config, parseConfig } from '../../shared/config.ts';
import { stripeClients } from '../../shared/environment.ts';
import {
  RefreshingSecret,
  SECRET_MAX_AGE_MS,
  type SecretAccess,
  stripeSecretKey,
  stripeWebhookSecret,
} from '../../shared/secrets.ts';
import type { Clock } from '../../shared/time.ts';

// Before the modules under test build their loggers and Powertools its Secrets Manager client.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION ??= 'us-east-1';
});

const START = Date.parse('2026-03-01T12:00:00Z');
const KEY_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:terminal-payments/stripe-key-AbCdEf';

/** A clock that moves only when told: `sleep` resolves once `advance` passes its time. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = START;
  const sleepers: { due: number; wake: () => void }[] = [];
  return {
    now: () => now,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        sleepers.push({ due: now + ms, wake: resolve });
      }),
    advance(ms) {
      now += ms;
      for (const sleeper of sleepers.splice(0)) {
        if (sleeper.due <= now) sleeper.wake();
        else sleepers.push(sleeper);
      }
    },
  };
}

/** A source whose answers the test scripts: each read takes the next one (a value, or an error to throw). */
function scriptedSource(...answers: (string | Error)[]) {
  const source = {
    reads: 0,
    answers,
    read: async () => {
      source.reads += 1;
      const answer = source.answers.shift();
      if (answer === undefined) throw new Error('no answer scripted');
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return source;
}

describe('RefreshingSecret', () => {
  it('reads at first use and answers the same value, unread, until it is max age old', async () => {
    // Prepare
    const clock = manualClock();
    const source = scriptedSource('sk_test_first', 'sk_test_second');
    const secret = new RefreshingSecret(source.read, () => clock);

    // Act
    const first = await secret.get();
    clock.advance(SECRET_MAX_AGE_MS - 1);
    const beforeMaxAge = await Promise.all([secret.get(), secret.get()]);

    // Assess
    expect(first).toBe('sk_test_first');
    expect(beforeMaxAge).toEqual(['sk_test_first', 'sk_test_first']);
    expect(source.reads).toBe(1);
  });

  it('reads again once the value is max age old by the clock, one read for the uses waiting on it', async () => {
    // Prepare
    const clock = manualClock();
    const source = scriptedSource('sk_test_first', 'sk_test_second');
    const secret = new RefreshingSecret(source.read, () => clock);
    await secret.get();

    // Act
    clock.advance(SECRET_MAX_AGE_MS);
    const afterMaxAge = await Promise.all([secret.get(), secret.get(), secret.get()]);
    clock.advance(SECRET_MAX_AGE_MS - 1);
    const later = await secret.get();

    // Assess: the new value is kept for a max age of its own
    expect(afterMaxAge).toEqual(['sk_test_second', 'sk_test_second', 'sk_test_second']);
    expect(later).toBe('sk_test_second');
    expect(source.reads).toBe(2);
  });

  it('keeps the last good value when a re-read fails, and tries again at the next use', async () => {
    // Prepare
    const clock = manualClock();
    const outage = new Error('ThrottlingException: Rate exceeded');
    const source = scriptedSource('sk_test_first', outage, outage, 'sk_test_second');
    const stale: unknown[] = [];
    const secret = new RefreshingSecret(source.read, () => clock, { onStaleValue: (error) => stale.push(error) });
    await secret.get();
    clock.advance(SECRET_MAX_AGE_MS);

    // Act
    const duringOutage = [await secret.get(), await secret.get()];
    const afterOutage = await secret.get();

    // Assess: every use during the outage read again (its age was not renewed), and none failed
    expect(duringOutage).toEqual(['sk_test_first', 'sk_test_first']);
    expect(afterOutage).toBe('sk_test_second');
    expect(source.reads).toBe(4);
    expect(stale).toEqual([outage, outage]);
  });

  it('answers the last good value when a re-read is not answered within the wait, and takes the new one when it is', async () => {
    // Prepare: the second read hangs until the test answers it
    const clock = manualClock();
    let answer: (value: string) => void = () => undefined;
    const hanging = new Promise<string>((resolve) => {
      answer = resolve;
    });
    const reads = [Promise.resolve('sk_test_first'), hanging];
    const secret = new RefreshingSecret(
      () => reads.shift() ?? Promise.reject(new Error('unexpected read')),
      () => clock,
      {
        rereadWaitMs: 2_000,
      },
    );
    await secret.get();
    clock.advance(SECRET_MAX_AGE_MS);

    // Act
    const waiting = secret.get();
    clock.advance(2_000);
    const whileHanging = await waiting;
    answer('sk_test_second');
    await hanging;
    const afterAnswer = await secret.get();

    // Assess
    expect(whileHanging).toBe('sk_test_first');
    expect(afterAnswer).toBe('sk_test_second');
  });

  it('fails the first read loudly, and reads again at the next use', async () => {
    // Prepare
    const clock = manualClock();
    const source = scriptedSource(new Error('ResourceNotFoundException'), 'sk_test_first');
    const secret = new RefreshingSecret(source.read, () => clock);

    // Act
    const first = secret.get();

    // Assess
    await expect(first).rejects.toThrow('ResourceNotFoundException');
    await expect(secret.get()).resolves.toBe('sk_test_first');
    expect(source.reads).toBe(2);
  });
});

/** Dependencies whose settings the test changes, as a redeploy or the local stack's `configure` would. */
function dependencies(env: Record<string, string>, clock: Clock): SecretAccess & { settings: Config } {
  return { settings: parseConfig({ TABLE_NAME: 'unused', ...env }), clock };
}

describe('secrets from the settings (local)', () => {
  it('are read from the settings as they are at each re-read, not as they were at first use', async () => {
    // Prepare
    const clock = manualClock();
    const deps = dependencies({ STRIPE_SECRET_KEY: 'sk_test_old', STRIPE_WEBHOOK_SECRET: 'whsec_old' }, clock);
    await Promise.all([stripeSecretKey(deps), stripeWebhookSecret(deps)]);

    // Act
    deps.settings = parseConfig({
      TABLE_NAME: 'unused',
      STRIPE_SECRET_KEY: 'sk_test_new',
      STRIPE_WEBHOOK_SECRET: 'whsec_new',
    });
    const beforeMaxAge = await Promise.all([stripeSecretKey(deps), stripeWebhookSecret(deps)]);
    clock.advance(SECRET_MAX_AGE_MS);
    const afterMaxAge = await Promise.all([stripeSecretKey(deps), stripeWebhookSecret(deps)]);

    // Assess
    expect(beforeMaxAge).toEqual(['sk_test_old', 'whsec_old']);
    expect(afterMaxAge).toEqual(['sk_test_new', 'whsec_new']);
  });

  it('are kept per dependencies object: two local stacks in one process keep their own', async () => {
    // Prepare
    const clock = manualClock();
    const first = dependencies({ STRIPE_SECRET_KEY: 'sk_test_first_stack' }, clock);
    const second = dependencies({ STRIPE_SECRET_KEY: 'sk_test_second_stack' }, clock);

    // Act
    const keys = await Promise.all([stripeSecretKey(first), stripeSecretKey(second)]);

    // Assess
    expect(keys).toEqual(['sk_test_first_stack', 'sk_test_second_stack']);
  });

  it('fail when neither the value nor an ARN is set', async () => {
    // Prepare
    const deps = dependencies({}, manualClock());

    // Act
    const key = stripeSecretKey(deps);

    // Assess
    await expect(key).rejects.toThrow(
      'STRIPE_SECRET_KEY is not configured: set STRIPE_SECRET_KEY (local) or STRIPE_SECRET_KEY_ARN (AWS)',
    );
  });
});

describe('secrets from Secrets Manager (AWS)', () => {
  const secretsManager = mockClient(SecretsManagerClient);

  beforeEach(() => {
    secretsManager.reset();
  });

  afterAll(() => {
    secretsManager.restore();
  });

  /** The secret ids `GetSecretValue` was asked for, in order. */
  const reads = () => secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId);

  it('reads the secret again after max age, past Powertools’ own cache, and keeps it before', async () => {
    // Prepare
    const clock = manualClock();
    const deps = dependencies({ STRIPE_SECRET_KEY_ARN: KEY_ARN }, clock);
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'sk_test_before_roll' })
      .resolvesOnce({ SecretString: 'sk_test_after_roll' });

    // Act
    const first = await stripeSecretKey(deps);
    clock.advance(SECRET_MAX_AGE_MS - 1);
    const beforeMaxAge = await stripeSecretKey(deps);
    clock.advance(1);
    const afterMaxAge = await stripeSecretKey(deps);

    // Assess
    expect([first, beforeMaxAge, afterMaxAge]).toEqual([
      'sk_test_before_roll',
      'sk_test_before_roll',
      'sk_test_after_roll',
    ]);
    expect(reads()).toEqual([KEY_ARN, KEY_ARN]);
  });

  it('keeps the last good key through a Secrets Manager outage and reads again at each use until it ends', async () => {
    // Prepare
    const clock = manualClock();
    const deps = dependencies({ STRIPE_SECRET_KEY_ARN: KEY_ARN }, clock);
    const outage = Object.assign(new Error('Service unavailable'), { name: 'InternalServiceError', $fault: 'server' });
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'sk_test_before_roll' })
      .rejectsOnce(outage)
      .rejectsOnce(outage)
      .resolvesOnce({ SecretString: 'sk_test_after_roll' });
    await stripeSecretKey(deps);
    clock.advance(SECRET_MAX_AGE_MS);

    // Act
    const duringOutage = [await stripeSecretKey(deps), await stripeSecretKey(deps)];
    const afterOutage = await stripeSecretKey(deps);

    // Assess
    expect(duringOutage).toEqual(['sk_test_before_roll', 'sk_test_before_roll']);
    expect(afterOutage).toBe('sk_test_after_roll');
    expect(reads()).toEqual([KEY_ARN, KEY_ARN, KEY_ARN, KEY_ARN]);
  });

  it('fails the first read of a secret with no value, and of one Secrets Manager does not have', async () => {
    // Prepare
    const missing = Object.assign(new Error('Secrets Manager can’t find the specified secret.'), {
      name: 'ResourceNotFoundException',
      $fault: 'client',
    });
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: '' }).rejectsOnce(missing);

    // Act
    const empty = await stripeSecretKey(dependencies({ STRIPE_SECRET_KEY_ARN: KEY_ARN }, manualClock())).catch(
      (error: Error) => error,
    );
    const absent = await stripeWebhookSecret(dependencies({ STRIPE_WEBHOOK_SECRET_ARN: KEY_ARN }, manualClock())).catch(
      (error: Error) => error,
    );

    // Assess
    expect(empty).toEqual(
      expect.objectContaining({ message: expect.stringContaining('names a secret with no value') }),
    );
    expect(absent).toEqual(expect.objectContaining({ message: expect.stringContaining('find the specified secret') }));
  });
});

describe('stripeClients', () => {
  let emulator: Emulator;

  beforeAll(async () => {
    emulator = await startEmulator({ seed: true });
  });

  afterAll(async () => {
    await emulator?.close();
  });

  /** The key (redacted) of each API request the emulator got. */
  async function keysUsed(): Promise<string[]> {
    const log = await emulatorControls(emulator.url).get<{ data: { apiKey: string | null }[] }>('requests');
    return log.data.map((entry) => String(entry.apiKey));
  }

  it('builds the client again only when the key read changed, and calls Stripe with the new key', async () => {
    // Prepare
    const clock = manualClock();
    const env = { STRIPE_API_BASE: emulator.url, STRIPE_SECRET_KEY: 'sk_test_client_old1' };
    const deps = dependencies(env, clock);
    const stripe = stripeClients(deps);

    // Act
    const first = await stripe();
    await first.terminal.readers.list();
    deps.settings = parseConfig({ TABLE_NAME: 'unused', ...env, STRIPE_SECRET_KEY: 'sk_test_client_new2' });
    const beforeMaxAge = await stripe();
    clock.advance(SECRET_MAX_AGE_MS);
    const afterMaxAge = await stripe();
    await afterMaxAge.terminal.readers.list();
    const again = await stripe();

    // Assess
    expect(first).toBeInstanceOf(Stripe);
    expect(beforeMaxAge).toBe(first);
    expect(afterMaxAge).not.toBe(first);
    expect(again).toBe(afterMaxAge);
    expect(await keysUsed()).toEqual(['sk_test_…old1', 'sk_test_…new2']);
  });
});

describe('the webhook receiver', () => {
  const body = JSON.stringify({
    id: 'evt_rolled_secret',
    object: 'event',
    type: 'terminal.reader.action_succeeded',
    created: Math.floor(Date.parse('2026-03-01T12:00:00Z') / 1000),
    data: { object: { id: 'tmr_rolled', object: 'terminal.reader' } },
  });
  const sent: unknown[] = [];
  const queue = { send: async (command: unknown) => sent.push(command) } as unknown as SQSClient;
  const context = { awsRequestId: 'req-rolled-secret' } as Context;

  afterEach(() => {
    sent.length = 0;
  });

  function delivery(secret: string, clock: Clock): APIGatewayProxyEventV2 {
    const header = Stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret,
      timestamp: Math.floor(clock.now() / 1000),
    });
    return {
      body,
      isBase64Encoded: false,
      headers: { 'stripe-signature': header },
    } as unknown as APIGatewayProxyEventV2;
  }

  it('verifies with a new signing secret once the one it holds is max age old', async () => {
    // Prepare
    const clock = manualClock();
    const deps = { ...dependencies({ STRIPE_WEBHOOK_SECRET: 'whsec_old', EVENT_QUEUE_URL: 'queue' }, clock), queue };
    const receive = receiveWebhook.withDependencies(deps);
    await receive(delivery('whsec_old', clock), context);
    deps.settings = parseConfig({ TABLE_NAME: 'unused', STRIPE_WEBHOOK_SECRET: 'whsec_new', EVENT_QUEUE_URL: 'queue' });

    // Act
    const beforeMaxAge = await receive(delivery('whsec_new', clock), context);
    clock.advance(SECRET_MAX_AGE_MS);
    const afterMaxAge = await receive(delivery('whsec_new', clock), context);

    // Assess
    expect(beforeMaxAge).toMatchObject({ statusCode: 400 });
    expect(afterMaxAge).toMatchObject({ statusCode: 200 });
    expect(sent).toHaveLength(2);
  });
});

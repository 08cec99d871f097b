/**
 * The POS console in headless Chromium against the whole local stack: a cashier signs in, takes a payment that the
 * customer taps on a simulated reader (the emulator's test helper), sees a decline and retries, resets a stuck
 * reader, and finds the payments listed; every state change reaches the open page without a reload.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Browser, HTTPRequest, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildConsoleAssets } from '../../infra/console-build.ts';
import { consoleContentSecurityPolicy, withConnectPolicy } from '../../infra/constructs/pos-console.ts';
import { emulatorControls } from '../../local/stripe-emulator/control-client.ts';
import { api, type LocalStack, startTestStack } from '../support/stack.ts';
import { launchBrowser, screenshot } from './browser.ts';

let stack: LocalStack;
let browser: Browser;
let downtown: LocalStack['state']['locations'][number];
let airport: LocalStack['state']['locations'][number];
const pages: { page: Page; problems: string[] }[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startTestStack({
      // Reconciler runs are started by the test that needs one.
      reconcileIntervalSeconds: 3600,
      emulator: { authorizationDelayMs: 50 },
      env: { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
    }),
    launchBrowser(),
  ]);
  [downtown, airport] = stack.state.locations as [typeof downtown, typeof airport];
});

afterEach(async (context) => {
  const failed = context.task.result?.state === 'fail';
  for (const [index, { page, problems }] of pages.splice(0).entries()) {
    // What the page showed when the test failed, beside the screens' screenshots.
    if (failed) await screenshot(page, `failed-${context.task.name.slice(0, 60).replace(/\W+/g, '-')}-${index}`);
    await page.close();
    expect(problems).toEqual([]);
  }
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A new tab signed in as `account` (a location's display name), on the register. */
async function signIn(account: string, options: { liveUrl?: string } = {}): Promise<Page> {
  const page = await newPage();
  // Live updates sent elsewhere (a port where nothing listens): the console has only its polling.
  if (options.liveUrl !== undefined) {
    await page.evaluateOnNewDocument(`{
      const Socket = window.WebSocket;
      window.WebSocket = class extends Socket {
        constructor(url) { super(${JSON.stringify(options.liveUrl)} + new URL(url).search); }
      };
    }`);
  }
  await page.goto(stack.state.consoleUrl);
  // Each test starts from a register as first set up (its currency, remembered on the device, is the default).
  await page.evaluate('localStorage.clear()');
  await page.locator(`button.account::-p-text(${account})`).click();
  // The register is ready once its readers are listed and one is chosen.
  await page.waitForSelector('.reader-option input:checked');
  if (options.liveUrl === undefined) await page.waitForSelector('#live-state[data-state="live"]');
  return page;
}

/** A tab whose page errors fail the test. */
async function newPage(): Promise<Page> {
  const page = await browser.newPage();
  // Within the test's own timeout (30 s), so a state that never comes is reported by its selector, with room for a
  // browser slowed by the rest of the suite running beside it.
  page.setDefaultTimeout(20_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${(error as Error).message}`));
  page.on('console', (message) => {
    // Refused requests and refused live connections are the console's to show, which the tests check on the page.
    const expected = /status of 4\d\d|^WebSocket connection to .* failed/;
    if (message.type() === 'error' && !expected.test(message.text())) problems.push(message.text());
  });
  pages.push({ page, problems });
  return page;
}

/** Record every state the live badge shows, from now on, in `window.liveStates`. */
async function recordLiveStates(page: Page): Promise<void> {
  await page.evaluate(`{
    const badge = document.getElementById('live-state');
    window.liveStates = [badge.dataset.state];
    new MutationObserver(() => window.liveStates.push(badge.dataset.state)).observe(badge, { attributes: true });
  }`);
}

/** GETs of one payment the page sends from now on (its polls). */
function recordPaymentReads(page: Page): string[] {
  const reads: string[] = [];
  page.on('request', (request: HTTPRequest) => {
    if (request.method() === 'GET' && /\/payments\/pi_\w+$/.test(new URL(request.url()).pathname)) {
      reads.push(request.url());
    }
  });
  return reads;
}

/** Close every live-updates connection from the service's side, as API Gateway does at its limits. */
async function dropLiveConnections(): Promise<number> {
  const { Items = [] } = await stack.deps.store.db.send(
    new ScanCommand({
      TableName: stack.deps.store.table,
      FilterExpression: 'entity = :entity',
      ExpressionAttributeValues: { ':entity': 'connection' },
      ConsistentRead: true,
    }),
  );
  for (const item of Items) await stack.deps.connections.close(String(item.connectionId));
  return Items.length;
}

/** The customer presents a card on the reader; `cardNumber` picks one of the emulator's test cards. */
async function tap(
  readerId: string,
  cardNumber?: string,
  tip?: number,
  type: 'card_present' | 'interac_present' = 'card_present',
): Promise<void> {
  const form = new URLSearchParams({ type });
  if (cardNumber !== undefined) form.set('card_present[number]', cardNumber);
  if (tip !== undefined) form.set('amount_tip', String(tip));
  const tapped = await fetch(
    `${stack.emulator.url}/v1/test_helpers/terminal/readers/${readerId}/present_payment_method`,
    {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.state.stripe.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form.toString(),
    },
  );
  expect(tapped.status).toBe(200);
}

async function startSale(page: Page, amount: string, readerId: string, options: { manual?: boolean } = {}) {
  await page.locator('#amount').fill(amount);
  await page.locator(`#reader-${readerId}`).click();
  if (options.manual) await page.locator('#manual-capture').click();
  await page.locator('#take-payment').click();
  await page.waitForSelector('#sale[data-phase="waiting"]');
}

/** A payment taken through the API and paid with a tap: what a register made earlier. */
async function paidPayment(
  location: typeof downtown,
  readerId: string,
  amount: number,
): Promise<{ id: string; orderId: string }> {
  const orderId = `order-${Math.random().toString(36).slice(2, 10)}`;
  const created = await api<{ payment: { id: string } }>(stack, 'POST', '/payments', {
    token: location.token,
    body: { orderId, locationId: location.id, amount, currency: 'usd', readerId },
  });
  expect(created.status).toBe(201);
  await tap(readerId);
  const id = created.body.payment.id;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const read = await api<{ payment: { status: string } }>(stack, 'GET', `/payments/${id}`, { token: location.token });
    if (read.body.payment.status === 'succeeded') return { id, orderId };
    if (Date.now() > deadline) throw new Error(`Payment ${id} is still ${read.body.payment.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A Stripe object as the emulator holds it, read with the stack's secret key. */
async function emulatorGet<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.emulator.url}${path}`, {
    headers: { authorization: `Bearer ${stack.state.stripe.secretKey}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

const emulatorReader = (readerId: string) =>
  emulatorGet<{ action: Record<string, unknown> | null }>(`/v1/terminal/readers/${readerId}`);

/** A payment paid earlier on `readerId`, and a tab signed in as `account` with its detail open. */
async function paidPaymentDetail(location: typeof downtown, account: string, readerId: string, amount: number) {
  const paid = await paidPayment(location, readerId, amount);
  const page = await signIn(account);
  await page.locator('nav a::-p-text(Payments)').click();
  await page.locator(`button[aria-label="Details of order ${paid.orderId}"]`).click();
  return { page, paid };
}

const saleStatus = (page: Page) => page.$eval('#sale-status', (element) => element.textContent ?? '');
const salePhase = (page: Page, phase: string) => page.waitForSelector(`#sale[data-phase="${phase}"]`);

describe('the POS console', () => {
  it('takes a payment end to end; the tap shows on the open page through the live update, not a poll or reload', async () => {
    // Prepare
    const page = await signIn('Downtown Store');
    const reader = downtown.readers[0] as string;
    await screenshot(page, 'register');
    // A tablet held upright: one column, nothing cut off.
    await page.setViewport({ width: 820, height: 1180 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(820);
    await screenshot(page, 'register-portrait');
    await page.setViewport({ width: 1180, height: 820 });
    await startSale(page, '12.99', reader, { manual: true });
    expect(await saleStatus(page)).toContain('Waiting for the customer');
    const paymentReads = recordPaymentReads(page);
    // A variable of this document: still there after the tap only if the page was not reloaded.
    await page.evaluate('window.sameDocument = true');

    // Act
    await tap(reader);

    // Assess
    await salePhase(page, 'authorized');
    expect(await saleStatus(page)).toBe('Authorized $12.99. Capture it to complete the sale.');
    // The card comes from the charge, which may land a moment after the authorization.
    await page.waitForSelector('#sale .card::-p-text(VISA •••• 4242)');
    expect(paymentReads).toEqual([]);
    expect(await page.evaluate('window.sameDocument')).toBe(true);
    await screenshot(page, 'register-authorized');

    // Act: the cashier captures
    await page.locator('#sale button::-p-text(Capture)').click();

    // Assess
    await salePhase(page, 'paid');
    expect(await saleStatus(page)).toBe('Paid $12.99.');
    const paymentId = await page.$eval('#sale h2', (element) => element.textContent);
    expect(paymentId).toMatch(/^Order order-/);

    // Act: the payments screen lists it, filtered by status
    await page.locator('nav a::-p-text(Payments)').click();
    await page.waitForSelector('#payments-table tbody tr[data-payment-id]');
    await page.select('#filter-status', 'succeeded');
    await page.waitForFunction(`(() => {
      const rows = [...document.querySelectorAll('#payments-table tbody tr[data-payment-id]')];
      return rows.length > 0 && rows.every((row) => row.textContent.includes('Paid'));
    })()`);

    // Assess
    const rows = await page.$$eval('#payments-table tbody tr[data-payment-id]', (found) =>
      found.map((row) => row.textContent ?? ''),
    );
    expect(rows.some((row) => row.includes('$12.99') && row.includes('visa •••• 4242'))).toBe(true);
    await screenshot(page, 'payments');
  });

  it('shows a decline in the words Stripe gives, and takes the payment on the same order when tried again', async () => {
    // Prepare
    const page = await signIn('Downtown Store');
    const reader = downtown.readers[1] as string;
    await startSale(page, '20.00', reader);

    // Act
    await tap(reader, '4000000000009995');

    // Assess
    await salePhase(page, 'declined');
    expect(await saleStatus(page)).toBe(
      'Declined: Your card has insufficient funds. Ask for another card, then try again.',
    );
    await screenshot(page, 'register-declined');

    // Act: another card, on the same payment
    await page.locator('#sale button::-p-text(Try again)').click();
    await salePhase(page, 'waiting');
    await tap(reader);

    // Assess
    await salePhase(page, 'paid');
    expect(await saleStatus(page)).toBe('Paid $20.00.');
    expect(await page.$eval('#sale', (element) => element.textContent)).toContain('attempt 2');
  });

  it('shows the tip the customer chose on the reader, within the amount authorized', async () => {
    // Prepare: the location's readers offer tips
    const tipping = await api(stack, 'PUT', `/locations/${downtown.id}/tipping`, {
      token: stack.state.adminToken,
      body: { currency: 'usd', percentages: [10, 15, 20] },
    });
    expect(tipping.status).toBe(200);
    const page = await signIn('Downtown Store');
    const reader = downtown.readers[0] as string;
    await startSale(page, '10.00', reader, { manual: true });

    // Act
    await tap(reader, undefined, 200);

    // Assess
    await salePhase(page, 'authorized');
    expect(await saleStatus(page)).toBe('Authorized $12.00. Capture it to complete the sale.');
    expect(await page.$eval('#sale-tip', (element) => element.textContent)).toBe('Tip $2.00 included (order $10.00)');
  });

  it('shows the API’s own message when it refuses a payment', async () => {
    // Prepare
    const page = await signIn('Downtown Store');
    const refused = await api<{ error: { message: string } }>(stack, 'POST', '/payments', {
      token: downtown.token,
      body: { orderId: 'order-too-small', locationId: downtown.id, amount: 10, currency: 'usd' },
    });
    expect(refused.status).toBe(400);

    // Act
    await page.locator('#amount').fill('0.10');
    await page.locator('#take-payment').click();

    // Assess
    await page.waitForSelector('#register-error p');
    expect(await page.$eval('#register-error', (element) => element.textContent)).toBe(refused.body.error.message);
    expect(await page.$('#sale:not([hidden])')).toBeNull();
  });

  it('shows a stuck reader when checked, and resets it from the readers screen', async () => {
    // Prepare: a payment waits on the reader past the stuck threshold, and the reconciler finds it
    const page = await signIn('Airport Kiosk');
    const reader = airport.readers[0] as string;
    await startSale(page, '7.50', reader);
    await page.locator('nav a::-p-text(Readers)').click();
    await page.waitForSelector(`#readers-table tr[data-reader-id="${reader}"]`);
    stack.configure({ STUCK_ACTION_AFTER_SECONDS: '0.1' });
    await emulatorControls(stack.emulator.url).advanceClock(1);
    await stack.scheduler.runNow();
    await emulatorControls(stack.emulator.url).advanceClock(1);
    // The cashier checks the reader: read fresh from Stripe, its action has run past the threshold.
    await page.locator('button[aria-label="Check Airport Register 1"]').click();
    await page.waitForSelector(`#readers-table tr[data-reader-id="${reader}"][data-health="stuck"]`);
    await screenshot(page, 'readers-stuck');

    // Act
    await page.locator(`#readers-table tr[data-reader-id="${reader}"] button::-p-text(Reset)`).click();

    // Assess
    await page.waitForSelector(`#readers-table tr[data-reader-id="${reader}"][data-health="ready"]`);
    expect(await page.$eval('#readers-notice', (element) => element.textContent)).toBe(
      'Airport Register 1 was reset and is ready for the next payment.',
    );
    expect(await page.$(`#readers-table tr[data-reader-id="${reader}"] button::-p-text(Reset)`)).toBeNull();
    await screenshot(page, 'readers');
  });
  it('shows the customer’s cancel on the reader, and cancels the sale when the cashier asks', async () => {
    // Prepare
    const page = await signIn('Downtown Store');
    const reader = downtown.readers[0] as string;
    await startSale(page, '5.25', reader);

    // Act
    await emulatorControls(stack.emulator.url).post(`readers/${reader}/customer-cancel`);

    // Assess
    await salePhase(page, 'customer_canceled');
    expect(await saleStatus(page)).toBe(
      'The customer canceled on the reader. Try again when they are ready, or cancel the payment.',
    );

    // Act: the cashier cancels the sale instead
    await page.locator('#sale button::-p-text(Cancel payment)').click();

    // Assess
    await salePhase(page, 'canceled');
    expect(await saleStatus(page)).toBe('Payment canceled. Nothing was charged.');
  });

  it('reconnects a dropped live connection and subscribes again: later changes still arrive without a poll', async () => {
    // Prepare
    const page = await signIn('Downtown Store');
    const reader = downtown.readers[1] as string;
    await startSale(page, '8.40', reader, { manual: true });
    await recordLiveStates(page);

    // Act: the service drops the connection, and the card is tapped meanwhile
    expect(await dropLiveConnections()).toBeGreaterThan(0);
    await tap(reader);

    // Assess: the page reconnected and shows the authorization
    await salePhase(page, 'authorized');
    await page.waitForSelector('#live-state[data-state="live"]');
    expect(await page.evaluate('window.liveStates')).toEqual(expect.arrayContaining(['live', 'offline', 'live']));

    // Act: another register captures it; the resubscribed connection carries the change
    const paymentReads = recordPaymentReads(page);
    const paymentId = await page.$eval('#sale', (element) => element.getAttribute('data-payment-id'));
    const captured = await api(stack, 'POST', `/payments/${paymentId}/capture`, { token: downtown.token, body: {} });
    expect(captured.status).toBe(200);

    // Assess
    await salePhase(page, 'paid');
    expect(paymentReads).toEqual([]);
  });

  it('keeps the status right by polling when live updates cannot connect', async () => {
    // Prepare
    const page = await signIn('Airport Kiosk', { liveUrl: 'ws://127.0.0.1:9' });
    await page.waitForSelector('#live-state[data-state="offline"]');
    const reader = airport.readers[1] as string;
    await startSale(page, '3.10', reader);
    const paymentReads = recordPaymentReads(page);

    // Act
    await tap(reader);

    // Assess
    await salePhase(page, 'paid');
    expect(paymentReads.length).toBeGreaterThan(0);
    await screenshot(page, 'register-polling');
  });

  it('sends a cashier whose sign-in is no longer accepted back to sign-in, saying why', async () => {
    // Prepare: a session whose token the API refuses
    const page = await signIn('Downtown Store');
    const foreign = `${downtown.token.slice(0, -4)}AAAA`;
    await page.evaluate(`{
      const session = JSON.parse(sessionStorage.getItem('pos-console.session'));
      session.account.token = ${JSON.stringify(foreign)};
      sessionStorage.setItem('pos-console.session', JSON.stringify(session));
    }`);

    // Act
    await page.reload();

    // Assess
    await page.waitForSelector('#sign-in');
    expect(await page.$eval('#sign-in [role="alert"]', (element) => element.textContent)).toBe(
      'Your sign-in has expired. Sign in again to go on.',
    );
    await page.waitForSelector('button.account');
    await screenshot(page, 'sign-in');
  });
  it('sends a token past its expiry to sign-in without sending it to the API', async () => {
    // Prepare: signed in, on the payments; then the device's clock passes the token's expiry (24 h)
    const page = await signIn('Downtown Store');
    await page.locator('nav a::-p-text(Payments)').click();
    await page.waitForSelector('#payments-page::-p-text(Page 1)');
    const sent: string[] = [];
    page.on('request', (request) => {
      if (request.headers().authorization !== undefined) sent.push(new URL(request.url()).pathname);
    });
    await page.evaluate(`{
      const now = Date.now;
      Date.now = () => now() + 25 * 3600 * 1000;
    }`);

    // Act
    await page.locator('button::-p-text(Refresh)').click();

    // Assess
    await page.waitForSelector('#sign-in');
    expect(await page.$eval('#sign-in [role="alert"]', (element) => element.textContent)).toBe(
      'Your sign-in has expired. Sign in again to go on.',
    );
    expect(sent).toEqual([]);
  });

  it('takes an unreadable refusal in the token’s last minute for an expiry, and any other for a lost request', async () => {
    // Prepare: refusals the page cannot read, as API Gateway's 401 without CORS headers is to it
    const page = await signIn('Downtown Store');
    await page.locator('nav a::-p-text(Payments)').click();
    await page.waitForSelector('#payments-page::-p-text(Page 1)');
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/payments') void request.abort('failed');
      else void request.continue();
    });
    // The token the page signed in with (the local sign-in mints one at each sign-in).
    const token = (await page.evaluate(
      `JSON.parse(sessionStorage.getItem('pos-console.session')).account.token`,
    )) as string;
    const exp = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).exp as number;

    // Act: well before the expiry
    await page.locator('button::-p-text(Refresh)').click();

    // Assess: a lost request, said so, still signed in
    await page.waitForSelector('.payments .error::-p-text(could not be reached)');
    expect(await page.$('#sign-in')).toBeNull();

    // Act: the device's clock 30 s before the expiry
    await page.evaluate(`Date.now = () => ${exp * 1000 - 30_000}`);
    await page.locator('button::-p-text(Refresh)').click();

    // Assess
    await page.waitForSelector('#sign-in');
    expect(await page.$eval('#sign-in [role="alert"]', (element) => element.textContent)).toBe(
      'Your sign-in has expired. Sign in again to go on.',
    );
    const problems = pages.at(-1)?.problems ?? [];
    problems.splice(0, problems.length, ...problems.filter((problem) => !problem.includes('ERR_FAILED')));
  });

  it('refunds part of a payment online and part on the reader from its detail, and shows its receipt', async () => {
    // Prepare
    const reader = airport.readers[0] as string;
    const { page } = await paidPaymentDetail(airport, 'Airport Kiosk', reader, 1500);
    await page.waitForSelector('#payment-detail #refund-amount');
    expect(await page.$eval('#refund-amount', (element) => (element as unknown as { value: string }).value)).toBe(
      '15.00',
    );

    // Act: online
    await page.locator('#refund-amount').fill('2.50');
    await page.locator('#payment-detail button::-p-text(Refund online)').click();

    // Assess: pending, then succeeded as Stripe settles it, on the open page
    await page.waitForSelector('#refunds-table tr[data-refund-status="succeeded"]');
    expect(await page.$eval('#payment-detail .facts', (element) => element.textContent)).toContain('Refunded$2.50');

    // Act: on the reader, with the card
    await page.locator('#refund-amount').fill('1.00');
    await page.select('#refund-reader', reader);
    await page.locator('#payment-detail button::-p-text(Refund on reader)').click();
    await page.waitForSelector('#detail-notice');
    await tap(reader);

    // Assess
    await page.waitForFunction(
      `document.querySelectorAll('#refunds-table tr[data-refund-status="succeeded"]').length === 2`,
    );
    expect(await page.$eval('#payment-detail .facts', (element) => element.textContent)).toContain('Refunded$3.50');

    // Act: the receipt
    await page.locator('#payment-detail button::-p-text(Show receipt)').click();

    // Assess: the sale, its refunds and the card's EMV facts
    await page.waitForSelector('#receipt');
    const lines = await page.$$eval('#receipt .receipt-line', (rows) =>
      rows.map((row) => [...row.children].map((cell) => cell.textContent)),
    );
    expect(lines).toEqual([
      ['Sale', '$15.00'],
      ['Total', '$15.00'],
      ['Refund', '−$2.50'],
      ['Refund', '−$1.00'],
      ['Paid after refunds', '$11.50'],
    ]);
    const receiptText = await page.$eval('#receipt', (element) => element.textContent);
    expect(receiptText).toContain('Airport Kiosk');
    expect(receiptText).toContain('VISA •••• 4242');
    expect(receiptText).toMatch(/AID\s*A0000000031010/);
    await screenshot(page, 'payment-detail');

    // Assess: printed, the receipt is all there is on the page
    await page.emulateMediaType('print');
    const visible = (selector: string) =>
      page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).visibility === 'visible'`);
    expect(await visible('#receipt')).toBe(true);
    expect(await visible('nav')).toBe(false);
    expect(await visible('#refunds-table')).toBe(false);
    await page.emulateMediaType('screen');
  });
  it('lets the cashier play the customer at a simulated reader on the local stack', async () => {
    // Prepare
    const page = await signIn('Airport Kiosk');
    await startSale(page, '4.60', airport.readers[1] as string);
    await screenshot(page, 'register-waiting');

    // Act
    await page.locator('.simulator button::-p-text(Tap a declined card)').click();
    await salePhase(page, 'declined');
    await page.locator('#sale button::-p-text(Try again)').click();
    await salePhase(page, 'waiting');
    await page.locator('.simulator button::-p-text(Tap a card)').click();

    // Assess
    await salePhase(page, 'paid');
    expect(await saleStatus(page)).toBe('Paid $4.60.');
  });
  it('lets an admin register, relabel and remove a reader, and list one location’s payments', async () => {
    // Prepare
    const page = await signIn('Admin (every location)');
    await page.locator('nav a::-p-text(Readers)').click();
    await page.waitForSelector('#registration-code');

    // Act: register
    await page.locator('#registration-code').fill('simulated-wpe');
    await page.select('#new-reader-location', airport.id);
    await page.locator('#new-reader-label').fill('Airport Register 3');
    await page.locator('button::-p-text(Register reader)').click();

    // Assess
    await page.waitForSelector('#readers-table th::-p-text(Airport Register 3)');
    expect(await page.$eval('#readers-notice', (element) => element.textContent)).toBe(
      'Airport Register 3 is registered.',
    );
    await screenshot(page, 'readers-admin');

    // Act: relabel
    await page.locator('button[aria-label="Rename Airport Register 3"]').click();
    await page.locator('input[aria-label="New label for Airport Register 3"]').fill('Airport Kiosk 3');
    await page.locator('#readers-table button::-p-text(Save)').click();

    // Assess
    await page.waitForSelector('#readers-table th::-p-text(Airport Kiosk 3)');

    // Act: remove
    await page.locator('button[aria-label="Remove Airport Kiosk 3"]').click();
    await page.locator('#readers-table button::-p-text(Remove reader)').click();

    // Assess
    await page.waitForFunction(
      `document.getElementById('readers-notice').textContent === 'Airport Kiosk 3 was removed.'`,
    );
    expect(await page.$('#readers-table th::-p-text(Airport Kiosk 3)')).toBeNull();
    const listed = await api<{ readers: { label: string }[] }>(stack, 'GET', '/readers', {
      token: stack.state.adminToken,
    });
    expect(listed.body.readers.map((reader) => reader.label)).not.toContain('Airport Kiosk 3');

    // Act: the admin's payments, one location's
    const created = await api(stack, 'POST', '/payments', {
      token: airport.token,
      body: { orderId: 'order-admin-view', locationId: airport.id, amount: 990, currency: 'usd' },
    });
    expect(created.status).toBeLessThan(300);
    await page.locator('nav a::-p-text(Payments)').click();
    await page.waitForSelector('#payments-table tbody tr[data-payment-id]');
    await page.select('#filter-location', airport.id);
    const airportPayments = await api<{ payments: { id: string }[] }>(stack, 'GET', '/payments', {
      token: airport.token,
    });
    await page.waitForFunction(
      `document.querySelectorAll('#payments-table tbody tr[data-payment-id]').length === ${airportPayments.body.payments.length}`,
    );

    // Assess
    const shown = await page.$$eval('#payments-table tbody tr[data-payment-id]', (rows) =>
      rows.map((row) => row.getAttribute('data-payment-id')),
    );
    expect(shown).toEqual(airportPayments.body.payments.map((payment) => payment.id));
  });
  it('is worked with the keyboard alone, and names every control for a screen reader', async () => {
    // Prepare
    const page = await signIn('Downtown Store');
    const unnamedControls = `[...document.querySelectorAll('input, select, button')]
      .filter((control) => !(control.labels?.length || control.getAttribute('aria-label') || control.textContent.trim()))
      .map((control) => control.outerHTML)`;

    // Act: type the amount, Enter takes the payment on the ready reader
    await page.focus('#amount');
    await page.keyboard.type('6.00');
    await page.keyboard.press('Enter');
    await salePhase(page, 'waiting');
    // Tab to the sale's cancel button, as a cashier without a pointer would
    for (let presses = 0; presses < 30; presses++) {
      if ((await page.evaluate('document.activeElement.textContent')) === 'Cancel payment') break;
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');

    // Assess
    await salePhase(page, 'canceled');
    expect(await page.evaluate(unnamedControls)).toEqual([]);
    for (const screen of ['Payments', 'Readers']) {
      await page.locator(`nav a::-p-text(${screen})`).click();
      await page.waitForSelector(`#${screen.toLowerCase()}-table tbody tr`);
      expect(await page.evaluate(unnamedControls)).toEqual([]);
    }
  });

  it('pages through the payments with the API’s cursor, forward and back', async () => {
    // Prepare: more payments than one page holds
    for (let index = 0; index < 21; index++) {
      const created = await api(stack, 'POST', '/payments', {
        token: downtown.token,
        body: { orderId: `order-page-${index}`, locationId: downtown.id, amount: 100 + index, currency: 'usd' },
      });
      expect(created.status).toBe(201);
    }
    const page = await signIn('Downtown Store');
    const rowIds = () =>
      page.$$eval('#payments-table tbody tr[data-payment-id]', (rows) =>
        rows.map((row) => row.getAttribute('data-payment-id')),
      );
    await page.locator('nav a::-p-text(Payments)').click();
    await page.waitForSelector('#payments-page::-p-text(Page 1)');
    const first = await rowIds();

    // Act
    await page.locator('button::-p-text(Next page)').click();
    await page.waitForSelector('#payments-page::-p-text(Page 2)');
    const second = await rowIds();
    await page.locator('button::-p-text(Previous page)').click();
    await page.waitForSelector('#payments-page::-p-text(Page 1)');

    // Assess
    expect(first).toHaveLength(20);
    expect(second.length).toBeGreaterThan(0);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    expect(await rowIds()).toEqual(first);
  });

  it('rings up a cart: shows it on the reader, charges its total', async () => {
    // Prepare
    const page = await signIn('Downtown Store');
    const reader = downtown.readers[1] as string;
    await page.locator('#add-line').click();
    await page.locator('#line-1-description').fill('Flat white');
    await page.locator('#line-1-price').fill('3.50');
    await page.locator('#line-1-quantity').fill('2');
    await page.locator('#add-line').click();
    await page.locator('#line-2-description').fill('Muffin');

    // Act: a line without a price
    await page.locator(`#reader-${reader}`).click();
    await page.locator('#show-cart').click();

    // Assess: said, with the field to fix focused, and nothing sent
    await page.waitForSelector('#register-error::-p-text(Enter the price of “Muffin”)');
    expect(await page.evaluate('document.activeElement.id')).toBe('line-2-price');

    // Act: the price, the tax, then the cart on the reader
    await page.locator('#line-2-price').fill('2.25');
    await page.locator('#cart-tax').fill('0.74');
    await page.waitForSelector('#cart-total::-p-text(Total $9.99)');
    await page.locator('#show-cart').click();

    // Assess: the reader shows the lines, the tax and the total; the amount field holds the total
    await page.waitForSelector('#cart-notice::-p-text(The cart is on)');
    const shown = await emulatorReader(reader);
    expect(shown.action).toMatchObject({
      type: 'set_reader_display',
      set_reader_display: {
        type: 'cart',
        cart: {
          currency: 'usd',
          line_items: [
            { description: 'Flat white', amount: 350, quantity: 2 },
            { description: 'Muffin', amount: 225, quantity: 1 },
          ],
          tax: 74,
          total: 999,
        },
      },
    });
    expect(await page.$eval('#amount', (element) => (element as unknown as { value: string }).value)).toBe('9.99');
    await screenshot(page, 'register-cart');

    // Act: take the payment
    await page.locator('#take-payment').click();
    await salePhase(page, 'waiting');

    // Assess: the reader the sale waits on is busy in the picker
    const badge = `.reader-option[data-reader-id="${reader}"] .badge`;
    expect(await page.$eval(badge, (element) => element.textContent)).toBe('Busy');
    await screenshot(page, 'register-cart-waiting');

    // Act: the customer taps
    await tap(reader);

    // Assess: the cart's total was charged; the next sale starts with an empty cart
    await salePhase(page, 'paid');
    expect(await saleStatus(page)).toBe('Paid $9.99.');
    expect(await page.$eval(badge, (element) => element.textContent)).toBe('Ready');
    await page.locator('#sale button::-p-text(New sale)').click();
    expect(await page.$$('#cart-lines .cart-line')).toHaveLength(0);
    expect(await page.$eval('#amount', (element) => (element as unknown as { readOnly: boolean }).readOnly)).toBe(
      false,
    );
  });

  it('takes an Interac payment in Canadian dollars, and refunds it only with the card on a reader', async () => {
    // Prepare: the register's currency, remembered for the location
    const page = await signIn('Airport Kiosk');
    const reader = airport.readers[0] as string;
    await page.select('#currency', 'cad');
    await page.waitForSelector('label[for="amount"]::-p-text(Amount (CAD))');
    expect(await page.$eval('#interac-hint', (hint) => (hint as unknown as { hidden: boolean }).hidden)).toBe(false);

    // Act: the sale, paid with an Interac card on the simulated reader
    await startSale(page, '8.40', reader);
    await page.locator('.simulator button::-p-text(Tap an Interac card)').click();

    // Assess
    await salePhase(page, 'paid');
    expect(await saleStatus(page)).toBe('Paid CA$8.40.');
    const id = await page.$eval('#sale', (element) => element.getAttribute('data-payment-id'));
    const paid = await api<{ payment: { currency: string; card: { brand: string } } }>(
      stack,
      'GET',
      `/payments/${id}`,
      {
        token: airport.token,
      },
    );
    expect(paid.body.payment).toMatchObject({ currency: 'cad', card: { brand: 'interac' } });

    // Act: its refund, from the payment's detail
    await page.locator('nav a::-p-text(Payments)').click();
    await page.locator(`#payments-table tr[data-payment-id="${id}"] button`).click();
    await page.waitForSelector('#interac-refund');
    expect(await page.$('#payment-detail button::-p-text(Refund online)')).toBeNull();
    await page.locator('#refund-amount').fill('8.40');
    await page.select('#refund-reader', reader);
    await page.locator('#payment-detail button::-p-text(Refund on reader)').click();
    await page.waitForSelector('#detail-notice');
    await tap(reader, undefined, undefined, 'interac_present');

    // Assess
    await page.waitForSelector('#refunds-table tr[data-refund-status="succeeded"]');
    expect(await page.$eval('#payment-detail .facts', (element) => element.textContent)).toContain('RefundedCA$8.40');

    // The currency stays the register's choice for this location
    await page.locator('nav a::-p-text(Register)').click();
    await page.waitForSelector('label[for="amount"]::-p-text(Amount (CAD))');
  });

  it('emails the receipt to the address the customer gives', async () => {
    // Prepare
    const { page, paid } = await paidPaymentDetail(downtown, 'Downtown Store', downtown.readers[0] as string, 820);
    await page.waitForSelector('#receipt-email');

    // Act: not an address, then an address
    await page.locator('#receipt-email').fill('at the till');
    await page.locator('#email-receipt').click();
    await page.waitForSelector('#detail-error::-p-text(Enter the customer’s email address)');
    await page.locator('#receipt-email').fill('ana@example.com');
    await page.locator('#email-receipt').click();

    // Assess: on the page, in the API, and on the PaymentIntent Stripe sends it from
    await page.waitForSelector('#receipt-email-sent::-p-text(Receipt goes to ana@example.com.)');
    const read = await api<{ payment: { receiptEmail: string } }>(stack, 'GET', `/payments/${paid.id}`, {
      token: downtown.token,
    });
    expect(read.body.payment.receiptEmail).toBe('ana@example.com');
    const intent = await emulatorGet<{ receipt_email: string }>(`/v1/payment_intents/${paid.id}`);
    expect(intent.receipt_email).toBe('ana@example.com');
  });

  it('filters the payments by flag: a payment whose reader is stuck, not the others', async () => {
    // Prepare: one sale left waiting past the stuck threshold, flagged by the reconciler; one paid
    const reader = downtown.readers[1] as string;
    const paid = await paidPayment(downtown, reader, 640);
    const page = await signIn('Downtown Store');
    await startSale(page, '3.30', reader);
    const stuckId = await page.$eval('#sale', (element) => element.getAttribute('data-payment-id'));
    // Past the threshold on the stack's clock, however fast the sale got to the reader.
    await emulatorControls(stack.emulator.url).advanceClock(1);
    stack.configure({ STUCK_ACTION_AFTER_SECONDS: '0.1' });
    try {
      await stack.scheduler.runNow();
    } finally {
      stack.configure({ STUCK_ACTION_AFTER_SECONDS: undefined });
    }
    await page.waitForSelector('#sale .warning::-p-text(The reader seems stuck)');

    // Act
    await page.locator('nav a::-p-text(Payments)').click();
    await page.waitForSelector(`#payments-table tr[data-payment-id="${paid.id}"]`);
    await page.select('#filter-flag', 'reader_stuck');

    // Assess
    await page.waitForFunction(
      `!document.querySelector('#payments-table tr[data-payment-id="${paid.id}"]') && !!document.querySelector('#payments-table tr[data-payment-id="${stuckId}"]')`,
    );
    const flagged = await api<{ payments: { id: string; flags: string[] }[] }>(
      stack,
      'GET',
      '/payments?flag=reader_stuck',
      { token: downtown.token },
    );
    const shown = await page.$$eval('#payments-table tbody tr[data-payment-id]', (rows) =>
      rows.map((row) => row.getAttribute('data-payment-id')),
    );
    expect(shown).toEqual(flagged.body.payments.map((payment) => payment.id));
    expect(flagged.body.payments.every((payment) => payment.flags.includes('reader_stuck'))).toBe(true);
    await screenshot(page, 'payments-flagged');

    // Clean up: the register's sale is canceled, the reader freed
    await page.locator('nav a::-p-text(Register)').click();
    const cancel = await api(stack, 'POST', `/payments/${stuckId}/cancel`, { token: downtown.token, body: {} });
    expect(cancel.status).toBe(200);
  });

  it('follows the listed payments live: a new one is offered, a tap changes its status without a reload', async () => {
    // Prepare
    const page = await signIn('Airport Kiosk');
    await page.locator('nav a::-p-text(Payments)').click();
    await page.waitForSelector('#payments-page::-p-text(Page 1)');
    const lists: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/payments') lists.push(request.url());
    });
    const reader = airport.readers[1] as string;

    // Act: a register elsewhere makes a payment and sends it to the reader
    const created = await api<{ payment: { id: string } }>(stack, 'POST', '/payments', {
      token: airport.token,
      body: {
        orderId: `order-live-${Date.now()}`,
        locationId: airport.id,
        amount: 1250,
        currency: 'usd',
        readerId: reader,
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.payment.id;

    // Assess: offered, not pushed into the list under the cashier's finger
    await page.waitForSelector('#new-payments::-p-text(Show 1 new payment)');
    expect(await page.$(`#payments-table tr[data-payment-id="${id}"]`)).toBeNull();

    // Act: shown, then the customer taps
    await page.locator('#new-payments').click();
    await page.waitForSelector(`#payments-table tr[data-payment-id="${id}"]`);
    const listsBeforeTap = lists.length;
    await tap(reader);

    // Assess: the row turns paid from the live update alone
    await page.waitForSelector(`#payments-table tr[data-payment-id="${id}"][data-status="succeeded"]`);
    expect(lists).toHaveLength(listsBeforeTap);
    expect(await page.$eval(`#payments-table tr[data-payment-id="${id}"]`, (row) => row.textContent)).toContain(
      'visa •••• 4242',
    );
    expect(await page.$eval('#new-payments', (button) => (button as unknown as { hidden: boolean }).hidden)).toBe(true);
  });

  it('keeps text at WCAG AA contrast, and fits a tablet held upright', async () => {
    // Prepare
    const page = await signIn('Downtown Store');
    await page.locator('#add-line').click();
    /** Text whose contrast with the background behind it is under AA: 4.5:1, or 3:1 for large text. */
    const lowContrast = `(() => {
      const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
      const luminance = ([r, g, b]) => {
        const channel = (value) => { const c = value / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
      };
      const background = (element) => {
        for (let at = element; at; at = at.parentElement) {
          const color = rgb(getComputedStyle(at).backgroundColor);
          if (color.length === 3 || color[3] > 0) return color;
        }
        return [255, 255, 255];
      };
      const found = [];
      for (const element of document.querySelectorAll('body *')) {
        const ownText = [...element.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim());
        if (!ownText || element.closest('[hidden]') || element.disabled || element.getClientRects().length === 0) continue;
        const style = getComputedStyle(element);
        const [a, b] = [luminance(rgb(style.color)), luminance(background(element))];
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        const size = parseFloat(style.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) found.push(element.tagName + ' "' + element.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2));
      }
      return found;
    })()`;
    const overflow = 'document.scrollingElement.scrollWidth - window.innerWidth';

    // Act / Assess: every screen, landscape then portrait
    for (const viewport of [
      { width: 1180, height: 820 },
      { width: 768, height: 1024 },
    ]) {
      await page.setViewport(viewport);
      for (const screen of ['Register', 'Payments', 'Readers']) {
        await page.locator(`nav a::-p-text(${screen})`).click();
        await page.waitForSelector(
          screen === 'Register' ? '.reader-option' : `#${screen.toLowerCase()}-table tbody tr`,
        );
        expect(await page.evaluate(lowContrast), `${screen} at ${viewport.width}px`).toEqual([]);
        expect(await page.evaluate(overflow), `${screen} at ${viewport.width}px`).toBeLessThanOrEqual(0);
      }
    }
    await screenshot(page, 'readers-portrait');
  });
});

describe('the POS console signed in through the Cognito Hosted UI', () => {
  /** A stand-in for the Hosted UI's OAuth endpoints, as Cognito answers them. */
  let hostedUi: Server;
  let hostedUiUrl: string;
  /** The ID token the next sign-in is issued, and the one a refresh is. */
  let nextToken = '';
  let renewedToken = '';
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const logouts: string[] = [];
  const refreshes: string[] = [];

  beforeAll(async () => {
    hostedUi = createServer((request, response) => {
      const url = new URL(request.url ?? '/', hostedUiUrl);
      if (url.pathname === '/oauth2/authorize') {
        const query = url.searchParams;
        const valid =
          query.get('response_type') === 'code' &&
          query.get('client_id') === 'console-client' &&
          query.get('code_challenge_method') === 'S256' &&
          (query.get('scope') ?? '').split(' ').includes('openid') &&
          /^[\w-]{43}$/.test(query.get('code_challenge') ?? '');
        const redirectUri = query.get('redirect_uri') ?? '';
        if (!valid) return void response.writeHead(400).end('invalid_request');
        const code = `code-${codes.size}`;
        codes.set(code, { challenge: query.get('code_challenge') ?? '', redirectUri });
        const back = new URL(redirectUri);
        back.searchParams.set('code', code);
        back.searchParams.set('state', query.get('state') ?? '');
        return void response.writeHead(302, { location: back.href }).end();
      }
      if (url.pathname === '/oauth2/token' && request.method === 'POST') {
        let body = '';
        request.on('data', (chunk) => {
          body += chunk;
        });
        request.on('end', () => {
          const form = new URLSearchParams(body);
          if (form.get('grant_type') === 'refresh_token') {
            // Cognito answers a refresh with new ID and access tokens, and no new refresh token.
            const valid = form.get('client_id') === 'console-client' && form.get('refresh_token') === 'refresh';
            refreshes.push(form.get('refresh_token') ?? '');
            response.writeHead(valid ? 200 : 400, {
              'content-type': 'application/json',
              'access-control-allow-origin': '*',
            });
            response.end(
              JSON.stringify(
                valid
                  ? { id_token: renewedToken, access_token: 'access', token_type: 'Bearer' }
                  : { error: 'invalid_grant' },
              ),
            );
            return;
          }
          const issued = codes.get(form.get('code') ?? '');
          codes.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          const valid =
            issued !== undefined &&
            form.get('grant_type') === 'authorization_code' &&
            form.get('client_id') === 'console-client' &&
            form.get('redirect_uri') === issued.redirectUri &&
            createHash('sha256').update(verifier).digest('base64url') === issued.challenge;
          response.writeHead(valid ? 200 : 400, {
            'content-type': 'application/json',
            'access-control-allow-origin': '*',
          });
          response.end(
            JSON.stringify(
              valid
                ? { id_token: nextToken, access_token: 'access', refresh_token: 'refresh', token_type: 'Bearer' }
                : { error: 'invalid_grant' },
            ),
          );
        });
        return;
      }
      if (url.pathname === '/logout') {
        logouts.push(url.search);
        return void response.writeHead(302, { location: url.searchParams.get('logout_uri') ?? '/' }).end();
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => hostedUi.listen(0, '127.0.0.1', resolve));
    hostedUiUrl = `http://127.0.0.1:${(hostedUi.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    // The browser keeps its connections open: close them, or the server waits for it.
    hostedUi?.closeAllConnections();
    await new Promise((resolve) => hostedUi?.close(resolve));
  });

  /** A tab whose console is configured as a deployment is: the Hosted UI for sign-in. */
  async function deployedConsole(): Promise<Page> {
    const page = await newPage();
    const local = (await (await fetch(`${stack.state.consoleUrl}config.json`)).json()) as { liveUrl: string };
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/console/config.json') {
        void request.respond({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({
            apiUrl: '',
            liveUrl: local.liveUrl,
            signIn: { kind: 'cognito', domain: hostedUiUrl, clientId: 'console-client' },
          }),
        });
      } else {
        void request.continue();
      }
    });
    await page.goto(`${stack.state.consoleUrl}#payments`);
    return page;
  }

  it('signs an admin in with the authorization code and PKCE, names the locations, and signs out there too', async () => {
    // Prepare
    nextToken = stack.state.adminToken;
    const page = await deployedConsole();

    // Act
    await page.locator('#hosted-sign-in').click();

    // Assess: back on the screen asked for, the code gone from the address, the locations named by the API
    await page.waitForSelector('#payments-table tbody tr');
    expect(new URL(page.url()).search).toBe('');
    expect(new URL(page.url()).hash).toBe('#payments');
    const options = await page.$$eval('#location option', (elements) => elements.map((option) => option.textContent));
    expect(options).toEqual(expect.arrayContaining(['Downtown Store', 'Airport Kiosk']));
    await page.waitForSelector('#live-state[data-state="live"]');
    expect(codes.size).toBe(0);

    // Act: sign out
    await page.locator('button::-p-text(Sign out)').click();

    // Assess: the Hosted UI's session ends too, and the console offers to sign in again
    await page.waitForSelector('#hosted-sign-in');
    expect(new URLSearchParams(logouts.at(-1)).get('client_id')).toBe('console-client');
    expect(new URLSearchParams(logouts.at(-1)).get('logout_uri')).toBe(stack.state.consoleUrl);
  });

  it('signs a cashier in to the register of their location', async () => {
    // Prepare
    nextToken = downtown.token;
    const page = await deployedConsole();

    // Act
    await page.locator('#hosted-sign-in').click();
    await page.waitForSelector('#payments-table');
    await page.locator('nav a::-p-text(Register)').click();

    // Assess
    await page.waitForSelector(`#reader-${downtown.readers[0]}`);
    expect(await page.$('#location')).toBeNull();
  });

  it('renews the ID token before it expires, and calls the API with the new one', async () => {
    // Prepare: a sign-in whose ID token is due for renewal at once (five minutes left)
    nextToken = await stack.token([downtown.id], { username: 'downtown-register', expiresInSeconds: 5 * 60 });
    const renewed = await stack.token([downtown.id], { username: 'downtown-register' });
    renewedToken = renewed;
    const page = await deployedConsole();
    const sent: string[] = [];
    page.on('request', (request) => {
      const authorization = request.headers().authorization;
      if (authorization !== undefined) sent.push(authorization);
    });
    await page.locator('#hosted-sign-in').click();
    await page.waitForSelector('#payments-table');

    // Act: the renewal comes due
    await page.waitForFunction(
      `JSON.parse(sessionStorage.getItem('pos-console.session')).account.token === ${JSON.stringify(renewed)}`,
    );
    await page.locator('button::-p-text(Refresh)').click();

    // Assess
    await vi.waitFor(() => expect(sent.at(-1)).toBe(`Bearer ${renewed}`));
    expect(refreshes).toEqual(['refresh']);
  });

  it('refuses an answer that does not belong to a sign-in of this tab, and says why', async () => {
    // Prepare
    nextToken = downtown.token;
    const page = await deployedConsole();
    await page.waitForSelector('#hosted-sign-in');

    // Act: the Hosted UI's answer arrives with a state this tab never sent
    await page.goto(`${stack.state.consoleUrl}?code=code-forged&state=forged`);

    // Assess
    await page.waitForSelector('#sign-in .error');
    expect(await page.$eval('#sign-in .error', (element) => element.textContent)).toBe(
      'This sign-in was not started from this tab, or it was already used. Sign in again.',
    );
    expect(new URL(page.url()).search).toBe('');
  });

  it('shows the API’s reason when a privileged account signed in without a second factor', async () => {
    // Prepare
    nextToken = await stack.token([], { username: 'owner', claims: { mfa_required: true } });
    const page = await deployedConsole();

    // Act
    await page.locator('#hosted-sign-in').click();

    // Assess
    await page.waitForSelector('#sign-in .error');
    expect(await page.$eval('#sign-in .error', (element) => element.textContent)).toContain(
      'set up an authenticator app (TOTP)',
    );
  });
});

describe('the console as deployed: the minified build under the content security policy it is served with', () => {
  /** The deployed files with their policy, in front of the local stack's API on the same origin, as CloudFront is. */
  let server: Server;
  let origin: string;
  let buildDir: string;

  beforeAll(async () => {
    buildDir = mkdtempSync(join(tmpdir(), 'console-build-'));
    buildConsoleAssets(buildDir);
    const local = (await (await fetch(`${stack.state.consoleUrl}config.json`)).json()) as { liveUrl: string };
    const liveOrigin = new URL(local.liveUrl).origin;
    const signInDomain = 'https://shop.auth.eu-west-1.amazoncognito.com';
    const policy = consoleContentSecurityPolicy({ connectSources: [liveOrigin], signInDomain });
    const files: Record<string, { type: string; body: string | Buffer }> = {
      '/console/': {
        type: 'text/html; charset=utf-8',
        body: withConnectPolicy(
          readFileSync(join(buildDir, 'index.html'), 'utf8'),
          `'self' ${liveOrigin} ${signInDomain}`,
        ),
      },
      '/console/console.js': { type: 'text/javascript', body: readFileSync(join(buildDir, 'console.js')) },
      '/console/console.css': { type: 'text/css', body: readFileSync(join(buildDir, 'console.css')) },
    };
    server = createServer((request, response) => {
      const file = files[new URL(request.url ?? '/', 'http://console').pathname];
      if (file !== undefined) {
        response.writeHead(200, { 'content-type': file.type, 'content-security-policy': policy });
        response.end(file.body);
        return;
      }
      // Everything else is the local stack's: the API, and the console's local settings and sign-in.
      void forward(request).then(({ status, type, body }) => {
        response.writeHead(status, { 'content-type': type });
        response.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  async function forward(request: IncomingMessage): Promise<{ status: number; type: string; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
      ),
    );
    const answer = await fetch(`${stack.state.apiUrl}${request.url}`, {
      method: request.method ?? 'GET',
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    return {
      status: answer.status,
      type: answer.headers.get('content-type') ?? 'application/octet-stream',
      body: Buffer.from(await answer.arrayBuffer()),
    };
  }

  it('takes a payment live, with nothing the policy refuses', async () => {
    // Prepare
    const page = await newPage();
    await page.evaluateOnNewDocument(`{
      window.violations = [];
      document.addEventListener('securitypolicyviolation', (event) =>
        window.violations.push(event.effectiveDirective + ' ' + event.blockedURI));
    }`);
    const loaded = await page.goto(`${origin}/console/`);
    expect(loaded?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('button.account::-p-text(Downtown Store)').click();
    await page.waitForSelector('#live-state[data-state="live"]');
    const reader = downtown.readers[0] as string;

    // Act
    await startSale(page, '5.25', reader);
    await page.locator('.simulator button::-p-text(Tap a card)').click();

    // Assess: paid, as the live update said, and the policy refused nothing
    await salePhase(page, 'paid');
    expect(await saleStatus(page)).toBe('Paid $5.25.');
    expect(await page.evaluate('window.violations')).toEqual([]);
    // Both policies are in force, the distribution's header and the page's own: a connection they do not allow is
    // refused by each.
    expect(await page.evaluate(`fetch('https://elsewhere.example/').then(() => 'sent', () => 'refused')`)).toBe(
      'refused',
    );
    expect(await page.evaluate('window.violations')).toEqual([
      'connect-src https://elsewhere.example/',
      'connect-src https://elsewhere.example/',
    ]);
    const problems = pages.at(-1)?.problems ?? [];
    problems.splice(0, problems.length, ...problems.filter((problem) => !problem.includes('elsewhere.example')));
  });
});

/**
 * Everything the handlers log (Powertools writes JSON lines to stdout and stderr) captured while a run goes on,
 * and a scan of it for what must never be logged: Stripe secret and webhook keys, bearer tokens, card numbers.
 */

type Write = typeof process.stdout.write;

export interface CapturedOutput {
  /** Every line written so far. */
  lines(): string[];
  /** Stop capturing and restore the streams. */
  stop(): void;
}

/**
 * Capture what this process writes to stdout and stderr from now on; with `echo`, it still reaches the terminal.
 * Extra lines (the stack's own `log`) can be added with `add`.
 */
export function captureOutput(options: { echo?: boolean } = {}): CapturedOutput & { add(line: string): void } {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write) as [Write, Write];
  streams.forEach((stream, index) => {
    const original = originals[index] as Write;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      if (options.echo) return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as Write;
  });
  return {
    add: (line) => {
      chunks.push(`${line}\n`);
    },
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.length > 0),
    stop: () => {
      streams.forEach((stream, index) => {
        stream.write = originals[index] as Write;
      });
    },
  };
}

/** A line that should not have been logged, and why. */
export interface Leak {
  kind: 'stripe_key' | 'webhook_secret' | 'bearer_token' | 'card_number';
  line: string;
}

/** Luhn's check, which every card number passes. */
function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index += 1) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Card-number shapes: Visa, Mastercard, Amex, Discover prefixes, 13–19 digits, optionally grouped. */
/** A UUID as request ids are written. */
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const CARD_CANDIDATE = /\b(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|3[47]\d{2}|6(?:011|5\d{2}))(?:[ -]?\d{3,4}){2,4}\b/g;

/**
 * Lines that carry a secret: any `sk_`/`rk_` key or `whsec_` secret (and the exact ones given), any of the
 * given tokens, or a number shaped like a card that passes Luhn's check (and the exact card numbers given).
 */
export function findLeaks(
  lines: readonly string[],
  known: { secrets?: readonly string[]; tokens?: readonly string[]; cardNumbers?: readonly string[] } = {},
): Leak[] {
  const leaks: Leak[] = [];
  for (const line of lines) {
    if (/\b[sr]k_(?:test|live)_[A-Za-z0-9]{8,}/.test(line)) leaks.push({ kind: 'stripe_key', line });
    if (/\bwhsec_[A-Za-z0-9]{8,}/.test(line)) leaks.push({ kind: 'webhook_secret', line });
    for (const secret of known.secrets ?? []) {
      if (secret.length > 0 && line.includes(secret)) leaks.push({ kind: 'stripe_key', line });
    }
    if (
      /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+/.test(line) ||
      (known.tokens ?? []).some((token) => line.includes(token))
    ) {
      leaks.push({ kind: 'bearer_token', line });
    }
    // A UUID (a request id) can hold a run of digits that passes the Luhn check: it is never a card number.
    const withoutIds = line.replace(UUID, '');
    const digits = [...withoutIds.matchAll(CARD_CANDIDATE)].map((match) => match[0].replace(/[ -]/g, ''));
    const exact = (known.cardNumbers ?? []).some((number) => line.includes(number));
    if (
      exact ||
      digits.some((candidate) => candidate.length >= 13 && candidate.length <= 19 && passesLuhn(candidate))
    ) {
      leaks.push({ kind: 'card_number', line });
    }
  }
  return leaks;
}

/** The test cards the emulator knows (approvals and declines). */
export const TEST_CARDS = {
  visa: '4242424242424242',
  genericDecline: '4000000000000002',
  insufficientFunds: '4000000000009995',
  lostCard: '4000000000009987',
  stolenCard: '4000000000009979',
  expiredCard: '4000000000000069',
  processingError: '4000000000000119',
} as const;

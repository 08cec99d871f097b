/**
 * Stripe's error shape (`{"error": {type, code, message, param, doc_url, …}}`) and the errors the emulator
 * answers with. Messages follow Stripe's wording (the terminal ones are verbatim from Stripe's guide).
 */

export type StripeErrorType = 'invalid_request_error' | 'card_error' | 'idempotency_error' | 'api_error';

/** The `error` object of a Stripe error response. */
export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  doc_url?: string;
  decline_code?: string;
  charge?: string;
}

/** An error that becomes a Stripe error response. */
export class StripeError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;
  /** Extra response headers (e.g. `Stripe-Should-Retry`). */
  readonly headers: Record<string, string>;

  constructor(status: number, body: StripeErrorBody, headers: Record<string, string> = {}) {
    super(body.message);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }

  /**
   * Whether Stripe would keep this response under its idempotency key. Stripe stores only requests that
   * began executing: authentication, validation and a missing referenced object are rejected before that.
   */
  get storedForIdempotency(): boolean {
    const code = this.body.code ?? '';
    if (this.status === 401) return false;
    if (code.startsWith('parameter_') || code === 'parameters_exclusive') return false;
    return !['amount_too_small', 'email_invalid', 'resource_missing', 'idempotency_key_in_use', 'url_invalid'].includes(
      code,
    );
  }
}

/** Stripe's documentation link for an error code. */
export function docUrl(code: string): string {
  return `https://docs.stripe.com/error-codes#${code.replaceAll('_', '-')}`;
}

function invalidRequest(status: number, code: string | undefined, message: string, param?: string): StripeError {
  const body: StripeErrorBody = { type: 'invalid_request_error', message };
  if (code !== undefined) {
    body.code = code;
    body.doc_url = docUrl(code);
  }
  if (param !== undefined) body.param = param;
  return new StripeError(status, body);
}

/** A key as Stripe's authentication errors show it: the first 8 and last 4 characters, the rest as `*`. */
function maskedKey(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` : key;
}

const GUIDE =
  'https://stripe.com/docs/terminal/payments/collect-card-payment?terminal-sdk-platform=server-driven#handle-errors';

/** Error factories, named by Stripe's error code. */
export const errors = {
  missingApiKey: (): StripeError =>
    new StripeError(401, {
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    }),
  invalidApiKey: (key: string): StripeError =>
    new StripeError(401, {
      type: 'invalid_request_error',
      message: `Invalid API Key provided: ${maskedKey(key)}`,
    }),
  /** A key rolled with `/_emulator/keys/roll` whose expiry has come. */
  expiredApiKey: (key: string): StripeError =>
    invalidRequest(401, 'api_key_expired', `Expired API Key provided: ${maskedKey(key)}`),
  unrecognizedUrl: (method: string, path: string): StripeError =>
    invalidRequest(
      404,
      undefined,
      `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    ),
  parameterUnknown: (param: string): StripeError =>
    invalidRequest(400, 'parameter_unknown', `Received unknown parameter: ${param}`, param),
  parameterMissing: (param: string): StripeError =>
    invalidRequest(400, 'parameter_missing', `Missing required param: ${param}.`, param),
  parameterInvalidInteger: (param: string, value: string): StripeError =>
    invalidRequest(400, 'parameter_invalid_integer', `Invalid integer: ${value}`, param),
  parameterIntegerTooSmall: (param: string, min: number): StripeError =>
    invalidRequest(400, 'parameter_invalid_integer', `This value must be greater than or equal to ${min}.`, param),
  parameterInvalidStringEmpty: (param: string): StripeError =>
    invalidRequest(
      400,
      'parameter_invalid_string_empty',
      `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
      param,
    ),
  parameterInvalidEmpty: (param: string): StripeError =>
    invalidRequest(
      400,
      'parameter_invalid_empty',
      `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
      param,
    ),
  invalidBoolean: (param: string, value: string): StripeError =>
    invalidRequest(400, undefined, `Invalid boolean: ${value}`, param),
  invalidEnum: (param: string, allowed: readonly string[]): StripeError =>
    invalidRequest(400, undefined, `Invalid ${param}: must be one of ${listOf(allowed)}`, param),
  invalidArray: (param: string): StripeError => invalidRequest(400, undefined, 'Invalid array', param),
  invalidHash: (param: string): StripeError => invalidRequest(400, undefined, 'Invalid hash', param),
  invalidString: (param: string): StripeError => invalidRequest(400, undefined, 'Invalid string', param),
  notExpandable: (path: string): StripeError =>
    invalidRequest(400, undefined, `This property cannot be expanded (${path}).`, 'expand'),
  resourceMissing: (objectName: string, id: string, param: string, status = 404): StripeError =>
    invalidRequest(status, 'resource_missing', `No such ${objectName}: '${id}'`, param),
  amountTooSmall: (minimum: number, currency: string): StripeError =>
    invalidRequest(
      400,
      'amount_too_small',
      `Amount must be at least ${formatMinimum(minimum, currency)} ${currency}`,
      'amount',
    ),
  chargeAlreadyRefunded: (chargeId: string): StripeError =>
    invalidRequest(400, 'charge_already_refunded', `Charge ${chargeId} has already been refunded.`),
  emailInvalid: (email: string, param: string): StripeError =>
    invalidRequest(400, 'email_invalid', `Invalid email address: ${email}`, param),
  amountTooLarge: (param: string, message: string): StripeError =>
    invalidRequest(400, 'amount_too_large', message, param),
  paymentIntentUnexpectedState: (message: string): StripeError =>
    invalidRequest(400, 'payment_intent_unexpected_state', message),
  paymentIntentInvalidParameter: (param: string, message: string): StripeError =>
    invalidRequest(400, 'payment_intent_invalid_parameter', message, param),
  invalidRequest: (message: string, param?: string): StripeError => invalidRequest(400, undefined, message, param),
  intentInvalidState: (
    message = 'Payment intent must be in the requires_payment_method state to be processed by a reader.',
  ): StripeError => invalidRequest(400, 'intent_invalid_state', message),
  readerBusy: (): StripeError =>
    invalidRequest(
      400,
      'terminal_reader_busy',
      `Reader is currently busy processing another request. Please reference the integration guide at ${GUIDE} for details on how to handle this error.`,
    ),
  readerTimeout: (): StripeError =>
    invalidRequest(
      400,
      'terminal_reader_timeout',
      `There was a timeout when sending this command to the reader. Please reference the integration guide at ${GUIDE} for details on how to handle this error.`,
    ),
  readerOffline: (): StripeError =>
    invalidRequest(
      400,
      'terminal_reader_offline',
      `Reader is currently offline, please ensure the reader is powered on and connected to the internet before retrying your request. Reference the integration guide at ${GUIDE} for details on how to handle this error.`,
    ),
  idempotencyMismatch: (key: string): StripeError =>
    new StripeError(400, {
      type: 'idempotency_error',
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    }),
  idempotencyKeyInUse: (key: string): StripeError =>
    invalidRequest(
      409,
      'idempotency_key_in_use',
      `There is currently another in-progress request using this idempotent key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
    ),
  idempotencyKeyTooLong: (): StripeError =>
    invalidRequest(400, undefined, 'Idempotency-Key must be 255 characters or fewer.'),
  internal: (message: string): StripeError => new StripeError(500, { type: 'api_error', message }),
  serverError: (): StripeError =>
    new StripeError(500, {
      type: 'api_error',
      message:
        "Sorry, something went wrong. We've already been notified of the problem, but if you need any help, you can reach out to support at https://support.stripe.com/.",
    }),
  rateLimit: (): StripeError =>
    invalidRequest(
      429,
      'rate_limit',
      'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
    ),
};

function listOf(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')}, or ${values.at(-1)}`;
}

function formatMinimum(minimum: number, currency: string): string {
  const symbol = currency === 'usd' || currency === 'cad' || currency === 'aud' ? '$' : '';
  return `${symbol}${(minimum / 100).toFixed(2)}`;
}

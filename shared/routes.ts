/**
 * Every HTTP route and the Lambda entry that serves it. The CDK app builds one function per entry and the
 * local gateway invokes the same entries, so the two wire the same handlers to the same routes.
 */
export interface RouteDefinition {
  /** Stable name, used for the Lambda function's construct id and log group. */
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** API Gateway route path, with `{param}` placeholders. */
  path: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  entry: string;
  /** `jwt`: behind the JWT authorizer; `none`: public (Stripe's webhook deliveries, health). */
  auth: 'jwt' | 'none';
}

export const routes: readonly RouteDefinition[] = [
  { name: 'CreatePayment', method: 'POST', path: '/payments', entry: 'functions/payments/create.ts', auth: 'jwt' },
  { name: 'ListPayments', method: 'GET', path: '/payments', entry: 'functions/payments/list.ts', auth: 'jwt' },
  { name: 'GetPayment', method: 'GET', path: '/payments/{id}', entry: 'functions/payments/get.ts', auth: 'jwt' },
  {
    name: 'UpdatePayment',
    method: 'PATCH',
    path: '/payments/{id}',
    entry: 'functions/payments/update.ts',
    auth: 'jwt',
  },
  {
    name: 'ProcessPayment',
    method: 'POST',
    path: '/payments/{id}/process',
    entry: 'functions/payments/process.ts',
    auth: 'jwt',
  },
  {
    name: 'CapturePayment',
    method: 'POST',
    path: '/payments/{id}/capture',
    entry: 'functions/payments/capture.ts',
    auth: 'jwt',
  },
  {
    name: 'CancelPayment',
    method: 'POST',
    path: '/payments/{id}/cancel',
    entry: 'functions/payments/cancel.ts',
    auth: 'jwt',
  },
  {
    name: 'RefundPayment',
    method: 'POST',
    path: '/payments/{id}/refunds',
    entry: 'functions/payments/refund.ts',
    auth: 'jwt',
  },
  {
    name: 'GetReceipt',
    method: 'GET',
    path: '/payments/{id}/receipt',
    entry: 'functions/payments/receipt.ts',
    auth: 'jwt',
  },
  {
    name: 'EmailReceipt',
    method: 'POST',
    path: '/payments/{id}/receipt/email',
    entry: 'functions/payments/receipt-email.ts',
    auth: 'jwt',
  },
  {
    name: 'ListRefunds',
    method: 'GET',
    path: '/payments/{id}/refunds',
    entry: 'functions/payments/list-refunds.ts',
    auth: 'jwt',
  },
  { name: 'ListReaders', method: 'GET', path: '/readers', entry: 'functions/readers/list.ts', auth: 'jwt' },
  {
    name: 'RegisterReader',
    method: 'POST',
    path: '/readers',
    entry: 'functions/readers/register.ts',
    auth: 'jwt',
  },
  { name: 'GetReader', method: 'GET', path: '/readers/{id}', entry: 'functions/readers/get.ts', auth: 'jwt' },
  {
    name: 'UpdateReader',
    method: 'PATCH',
    path: '/readers/{id}',
    entry: 'functions/readers/update.ts',
    auth: 'jwt',
  },
  {
    name: 'DeleteReader',
    method: 'DELETE',
    path: '/readers/{id}',
    entry: 'functions/readers/delete.ts',
    auth: 'jwt',
  },
  {
    name: 'CancelReaderAction',
    method: 'POST',
    path: '/readers/{id}/cancel-action',
    entry: 'functions/readers/cancel-action.ts',
    auth: 'jwt',
  },
  {
    name: 'SetReaderDisplay',
    method: 'POST',
    path: '/readers/{id}/display',
    entry: 'functions/readers/display.ts',
    auth: 'jwt',
  },
  { name: 'ListLocations', method: 'GET', path: '/locations', entry: 'functions/locations/list.ts', auth: 'jwt' },
  {
    name: 'CreateLocation',
    method: 'POST',
    path: '/locations',
    entry: 'functions/locations/create.ts',
    auth: 'jwt',
  },
  {
    name: 'GetLocationTipping',
    method: 'GET',
    path: '/locations/{id}/tipping',
    entry: 'functions/locations/get-tipping.ts',
    auth: 'jwt',
  },
  {
    name: 'PutLocationTipping',
    method: 'PUT',
    path: '/locations/{id}/tipping',
    entry: 'functions/locations/put-tipping.ts',
    auth: 'jwt',
  },
  {
    name: 'ReceiveStripeWebhook',
    method: 'POST',
    path: '/webhooks/stripe',
    entry: 'functions/webhook/receive.ts',
    auth: 'none',
  },
  { name: 'Health', method: 'GET', path: '/health', entry: 'functions/health/health.ts', auth: 'none' },
];

/** Lambdas that no route invokes. */
export const backgroundFunctions = {
  processEvents: { name: 'ProcessStripeEvents', entry: 'functions/webhook/process-events.ts' },
  reconcile: { name: 'Reconcile', entry: 'functions/reconcile/reconcile.ts' },
  /** Cognito's pre token generation trigger: privileged claims only after a second factor (no pool, no function). */
  issueTokens: { name: 'IssueTokens', entry: 'functions/identity/issue-tokens.ts' },
} as const;

/**
 * The live-updates WebSocket API's functions (`shared/live/definition.ts`): the `$connect` authorizer, the
 * connection's open and close, the client's messages, and the notifier on the table's change stream.
 */
export const liveFunctions = {
  authorize: { name: 'LiveAuthorize', entry: 'functions/live/authorize.ts' },
  connect: { name: 'LiveConnect', entry: 'functions/live/connect.ts' },
  disconnect: { name: 'LiveDisconnect', entry: 'functions/live/disconnect.ts' },
  message: { name: 'LiveMessage', entry: 'functions/live/message.ts' },
  notify: { name: 'LiveNotify', entry: 'functions/live/notify.ts' },
} as const;

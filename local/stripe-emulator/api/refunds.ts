/** `/v1/refunds`: create (by `payment_intent` or `charge`), retrieve, update (metadata), list, cancel. */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { pagination, paramsOf, rule } from '../http/params.ts';
import { type ApiCall, paramsAs, type Route } from '../http/router.ts';
import { chargeToRefund, createRefund } from '../payments/refunds.ts';
import { expandObject } from './expand.ts';
import { createdMatches, listPage, newestFirst } from './list.ts';
import { mergeMetadata } from './metadata.ts';

const REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

const createRules = paramsOf<Stripe.RefundCreateParams>({
  amount: rule.integer(1),
  charge: rule.string(),
  currency: rule.string(),
  customer: rule.string(),
  expand: rule.expand(),
  instructions_email: rule.string(),
  metadata: rule.metadata(),
  origin: rule.string(['customer_balance']),
  payment_intent: rule.string(),
  reason: rule.string(REASONS),
  refund_application_fee: rule.boolean(),
  reverse_transfer: rule.boolean(),
});
const retrieveRules = paramsOf<Stripe.RefundRetrieveParams>({ expand: rule.expand() });
const updateRules = paramsOf<Stripe.RefundUpdateParams>({ expand: rule.expand(), metadata: rule.metadata() });
const cancelRules = paramsOf<Stripe.RefundCancelParams>({ expand: rule.expand() });
const listRules = paramsOf<Stripe.RefundListParams>({
  ...pagination,
  charge: rule.string(),
  created: rule.range(),
  expand: rule.expand(),
  payment_intent: rule.string(),
});

function findRefund(call: ApiCall): Stripe.Refund {
  const id = call.path.refund ?? '';
  const refund = call.core.store.refunds.get(id);
  if (refund === undefined) throw errors.resourceMissing('refund', id, 'id');
  return refund;
}

function create(call: ApiCall): Stripe.Refund {
  const params = paramsAs<Stripe.RefundCreateParams>(call);
  const charge = chargeToRefund(call.core, params);
  const refund = createRefund(
    call.core,
    charge,
    {
      amount: params.amount,
      reason: params.reason ?? null,
      metadata: mergeMetadata({}, params.metadata),
    },
    call.events,
  );
  return expandObject(refund, call.expand, call.core.store);
}

function update(call: ApiCall): Stripe.Refund {
  const refund = findRefund(call);
  const params = paramsAs<Stripe.RefundUpdateParams>(call);
  refund.metadata = mergeMetadata(refund.metadata ?? {}, params.metadata);
  return expandObject(refund, call.expand, call.core.store);
}

function cancelRefund(call: ApiCall): Stripe.Refund {
  const refund = findRefund(call);
  // Card refunds never wait for an action from the customer, so none can be canceled.
  if (refund.status !== 'requires_action') {
    throw errors.invalidRequest(
      `You can only cancel refunds with a status of requires_action. This refund has a status of ${refund.status}.`,
    );
  }
  return expandObject(refund, call.expand, call.core.store);
}

function list(call: ApiCall): Stripe.ApiList<Stripe.Refund> {
  const params = paramsAs<Stripe.RefundListParams>(call);
  const matching = newestFirst(call.core.store.refunds.values()).filter(
    (refund) =>
      createdMatches(refund.created, params.created) &&
      (params.charge === undefined || refund.charge === params.charge) &&
      (params.payment_intent === undefined || refund.payment_intent === params.payment_intent),
  );
  return expandObject(listPage(matching, params, '/v1/refunds', 'refund'), call.expand, call.core.store);
}

/** The refund routes. */
export const refundRoutes: Route[] = [
  { method: 'POST', pattern: '/v1/refunds', rules: createRules, handle: create },
  { method: 'GET', pattern: '/v1/refunds', rules: listRules, handle: list },
  {
    method: 'GET',
    pattern: '/v1/refunds/:refund',
    rules: retrieveRules,
    handle: (call) => expandObject(findRefund(call), call.expand, call.core.store),
  },
  { method: 'POST', pattern: '/v1/refunds/:refund', rules: updateRules, handle: update },
  { method: 'POST', pattern: '/v1/refunds/:refund/cancel', rules: cancelRules, handle: cancelRefund },
];

/**
 * POST /payments/{id}/cancel — cancel the payment (releasing an authorization's hold). Its in-progress reader
 * action is cancelled first; a card already presented cannot be interrupted (409 `reader_busy`). A succeeded
 * payment has to be refunded instead. Cancelling twice answers with the canceled payment. When Stripe has not
 * answered by the deadline (inside API Gateway's 30 s) it is 504 `stripe_timeout`: the same request again
 * finishes the job.
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { visiblePayment } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { InvalidStateError } from '../../shared/http/errors.ts';
import { ok } from '../../shared/http/responses.ts';
import { PaymentIdParams } from '../../shared/http/schemas.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import { decideCancel } from '../../shared/payments/rules.ts';
import { applyToPayment, getPayment } from '../../shared/store/payments.ts';
import { beforeDeadline } from '../../shared/stripe/calls.ts';
import { cancelAtMostOnce } from '../../shared/stripe/capture-cancel.ts';
import { invalidStateMessage, toApiError } from '../../shared/stripe/errors.ts';
import { clearReaderAction, releaseReaderAction } from '../../shared/stripe/payment-commands.ts';
import { paymentIntentObservation } from '../../shared/stripe/snapshots.ts';

const Body = z.strictObject({
  reason: z.enum(['requested_by_customer', 'abandoned', 'duplicate']).optional(),
});

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state', 'reader_busy', 'stripe_timeout'],
  jsonBody: true,
  forbidden: false,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline }) => {
    const payment = visiblePayment(caller, await getPayment(params.id));
    const decision = decideCancel(payment);
    if (decision.kind === 'already_canceled') return ok({ payment: toPaymentResource(payment) });
    if (decision.kind === 'refuse')
      throw new InvalidStateError(invalidStateMessage(payment.status), { status: payment.status });

    // An offline reader cannot authorize anything, and a canceled PaymentIntent cannot be authorized later.
    const released = await beforeDeadline(deadline, clearReaderAction(payment, { proceedWhenOffline: true }));
    const outcome = await cancelAtMostOnce(payment.id, body.reason, { deadline }).catch((error: unknown) => {
      throw toApiError(error, { status: payment.status });
    });
    const observation = paymentIntentObservation(
      outcome.paymentIntent,
      { source: outcome.source },
      outcome.observedAtMs,
    );
    // The cleared reader action and what Stripe holds now go into one write.
    const { record } = await applyToPayment(payment, [...released, observation]);
    if (record.status !== 'canceled') {
      // Succeeded meanwhile (refund it), or Stripe still refuses or replays every key tried (try again).
      const retryable = record.status !== 'succeeded';
      const message = retryable
        ? 'This payment could not be cancelled just now. Try again in a moment.'
        : invalidStateMessage(record.status);
      throw new InvalidStateError(message, { status: record.status }, retryable);
    }
    // A process command that raced this cancel may have put the payment on a reader: clear it (best effort).
    const settled = await beforeDeadline(deadline, releaseReaderAction(record, { proceedWhenOffline: true })).catch(
      () => record,
    );
    return ok({ payment: toPaymentResource(settled) });
  },
  { params: PaymentIdParams, body: Body },
);

/**
 * The reconciler's last pass: order claims whose create failed half-way, settled from Stripe's side.
 */
import type { ReconcileRun } from '../reconcile/run-context.ts';
import { listPendingOrders, setAsideRefusedClaim } from '../store/orders.ts';
import { ORDER_CLAIM_GRACE_MS, settleOrderClaim } from './create-payment.ts';

/** Candidates per index query: small pages, so a run that stops early has read little it did not use. */
export const CANDIDATE_PAGE_SIZE = 25;

/**
 * Order claims whose create failed half-way (no PaymentIntent recorded after longer than any request runs): send
 * each claim's own request again under its key, so Stripe says what it did, and record the PaymentIntent as the
 * order's payment; a claim Stripe refused leaves the index. Oldest first, one page a run.
 */
export async function settlePendingOrders(run: ReconcileRun, startedAt: Date): Promise<void> {
  const claimedBy = new Date(startedAt.getTime() - ORDER_CLAIM_GRACE_MS).toISOString();
  const orders = await listPendingOrders(run.deps.store, claimedBy, CANDIDATE_PAGE_SIZE);
  run.summary.indexQueries += 1;
  run.summary.indexItemsRead += orders.length;
  for (const order of orders) {
    if (order.request === null) continue;
    const { request } = order;
    try {
      const settled = await run.stripe(() => settleOrderClaim(run.deps, order, request, new Date(run.clock.now())));
      if (settled.result.kind === 'refused') await setAsideRefusedClaim(run.deps.store, order);
      else run.summary.ordersSettled += 1;
      run.logger.info('Order claim settled', {
        locationId: order.locationId,
        orderId: order.orderId,
        generation: order.generation,
        ...(settled.result.kind === 'payment' ? { paymentId: settled.result.payment.id } : { outcome: 'refused' }),
      });
    } catch (error) {
      run.summary.failures += 1;
      run.logger.error('Order claim not settled; retried next run', { orderId: order.orderId, error: error as Error });
    }
  }
}

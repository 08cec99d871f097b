/** Every API route of the emulator. */
import { Router } from '../http/router.ts';
import { chargeAndEventRoutes } from './charges-events.ts';
import { configurationRoutes } from './configurations.ts';
import { paymentIntentRoutes } from './payment-intents.ts';
import { refundRoutes } from './refunds.ts';
import { terminalRoutes } from './terminal.ts';
import { webhookEndpointRoutes } from './webhook-endpoints.ts';

/** The router for `/v1`. */
export function apiRouter(): Router {
  return new Router().add(
    ...paymentIntentRoutes,
    ...terminalRoutes,
    ...configurationRoutes,
    ...chargeAndEventRoutes,
    ...refundRoutes,
    ...webhookEndpointRoutes,
  );
}

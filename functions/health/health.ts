/** GET /health — the API answers (public; the load balancer's and the local stack's liveness check). */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';

export const responses = declareResponses({ success: [200], errors: [], auth: 'none', callsStripe: false });

export const handler = apiHandler(async () => ok({ status: 'ok' }), { auth: 'none' });

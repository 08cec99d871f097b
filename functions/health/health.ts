/**
 * GET /health — the API answers (public; the local stack's and a load balancer's liveness check). A liveness probe
 * has nothing to parse, authorize or log, so it skips the API's middy stack and costs nothing at cold start.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { declareResponses } from '../../shared/http/declared-responses.ts';

export const responses = declareResponses({ success: [200], errors: [], auth: 'none', callsStripe: false });

export const handler = async (
  _event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'x-request-id': context.awsRequestId },
  body: JSON.stringify({ status: 'ok' }),
});

/** `/v1/webhook_endpoints`: create (answering with the `whsec_` secret, as Stripe does only then), retrieve, update, list, delete. */
import type Stripe from 'stripe';
import { errors, StripeError } from '../errors.ts';
import { pagination, paramsOf, rule } from '../http/params.ts';
import { type ApiCall, paramsAs, type Route } from '../http/router.ts';
import { buildWebhookEndpoint, newWebhookSecret } from '../objects/webhook-endpoint.ts';
import { listPage, newestFirst } from './list.ts';
import { mergeMetadata } from './metadata.ts';

const createRules = paramsOf<Stripe.WebhookEndpointCreateParams>({
  enabled_events: rule.required(rule.arrayOf(rule.string())),
  url: rule.required(rule.string()),
  api_version: rule.string(),
  connect: rule.boolean(),
  description: rule.emptyableString(),
  expand: rule.expand(),
  metadata: rule.metadata(),
});
const retrieveRules = paramsOf<Stripe.WebhookEndpointRetrieveParams>({ expand: rule.expand() });
const updateRules = paramsOf<Stripe.WebhookEndpointUpdateParams>({
  description: rule.emptyableString(),
  disabled: rule.boolean(),
  enabled_events: rule.arrayOf(rule.string()),
  expand: rule.expand(),
  metadata: rule.metadata(),
  url: rule.string(),
});
const listRules = paramsOf<Stripe.WebhookEndpointListParams>({ ...pagination, expand: rule.expand() });
const deleteRules = paramsOf<Stripe.WebhookEndpointDeleteParams>({});

function checkUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new StripeError(400, {
      type: 'invalid_request_error',
      code: 'url_invalid',
      message: `Invalid URL: ${url}`,
      param: 'url',
    });
  }
}

function findEndpoint(call: ApiCall): Stripe.WebhookEndpoint {
  const id = call.path.webhook_endpoint ?? '';
  const found = call.core.store.webhookEndpoints.get(id);
  if (found === undefined) throw errors.resourceMissing('webhook_endpoint', id, 'webhook_endpoint');
  return found.endpoint;
}

function createEndpoint(call: ApiCall): Stripe.WebhookEndpoint {
  const params = paramsAs<Stripe.WebhookEndpointCreateParams>(call);
  checkUrl(params.url);
  const endpoint = buildWebhookEndpoint({
    url: params.url,
    enabledEvents: [...params.enabled_events],
    apiVersion: params.api_version ?? null,
    description: params.description || null,
    metadata: mergeMetadata({}, params.metadata),
    now: call.core.clock.now(),
  });
  const secret = newWebhookSecret();
  call.core.store.webhookEndpoints.set(endpoint.id, { endpoint, secret });
  return { ...structuredClone(endpoint), secret };
}

function updateEndpoint(call: ApiCall): Stripe.WebhookEndpoint {
  const endpoint = findEndpoint(call);
  const params = paramsAs<Stripe.WebhookEndpointUpdateParams>(call);
  if (params.url !== undefined) {
    checkUrl(params.url);
    endpoint.url = params.url;
  }
  if (params.enabled_events !== undefined) endpoint.enabled_events = [...params.enabled_events];
  if (params.disabled !== undefined) endpoint.status = params.disabled ? 'disabled' : 'enabled';
  if (params.description !== undefined) endpoint.description = params.description || null;
  endpoint.metadata = mergeMetadata(endpoint.metadata, params.metadata);
  return structuredClone(endpoint);
}

function deleteEndpoint(call: ApiCall): Stripe.DeletedWebhookEndpoint {
  const endpoint = findEndpoint(call);
  call.core.store.webhookEndpoints.delete(endpoint.id);
  const deleted: Stripe.DeletedWebhookEndpoint = { id: endpoint.id, object: 'webhook_endpoint', deleted: true };
  return deleted;
}

/** Webhook endpoint routes. */
export const webhookEndpointRoutes: Route[] = [
  { method: 'POST', pattern: '/v1/webhook_endpoints', rules: createRules, handle: createEndpoint },
  {
    method: 'GET',
    pattern: '/v1/webhook_endpoints',
    rules: listRules,
    handle: (call) =>
      structuredClone(
        listPage(
          newestFirst([...call.core.store.webhookEndpoints.values()].map(({ endpoint }) => endpoint)),
          paramsAs<Stripe.WebhookEndpointListParams>(call),
          '/v1/webhook_endpoints',
          'webhook_endpoint',
        ),
      ),
  },
  {
    method: 'GET',
    pattern: '/v1/webhook_endpoints/:webhook_endpoint',
    rules: retrieveRules,
    handle: (call) => structuredClone(findEndpoint(call)),
  },
  { method: 'POST', pattern: '/v1/webhook_endpoints/:webhook_endpoint', rules: updateRules, handle: updateEndpoint },
  { method: 'DELETE', pattern: '/v1/webhook_endpoints/:webhook_endpoint', rules: deleteRules, handle: deleteEndpoint },
];

/** WebhookEndpoint objects, every non-optional field of `Stripe.WebhookEndpoint` present. */
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import { newId, unixSeconds } from '../ids.ts';

/** A new signing secret in Stripe's `whsec_` form. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

/** A new endpoint (the secret is kept beside it; Stripe shows it only in the create response). */
export function buildWebhookEndpoint(input: {
  url: string;
  enabledEvents: string[];
  apiVersion: string | null;
  description: string | null;
  metadata: Stripe.Metadata;
  id?: string;
  /** Epoch ms on the emulator's clock. */
  now: number;
}): Stripe.WebhookEndpoint {
  const endpoint: Stripe.WebhookEndpoint = {
    id: input.id ?? newId('we'),
    object: 'webhook_endpoint',
    api_version: input.apiVersion,
    application: null,
    created: unixSeconds(input.now),
    description: input.description,
    enabled_events: input.enabledEvents,
    livemode: false,
    metadata: input.metadata,
    status: 'enabled',
    url: input.url,
  };
  return endpoint;
}

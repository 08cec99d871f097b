import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { routeProfile, routeProfiles } from '../../infra/handler-profiles.ts';
import { routes } from '../../shared/routes.ts';
import { projectRoot } from './synth.ts';

describe('handler profiles', () => {
  it('covers every route of shared/routes.ts and nothing else', () => {
    // Assess
    expect(Object.keys(routeProfiles).sort()).toEqual(routes.map((route) => route.name).sort());
  });

  it('refuses to guess the access of a route it does not know', () => {
    // Act & Assess
    expect(() => routeProfile('ExportPayments')).toThrow(/ExportPayments has no profile/);
  });

  // The API handlers declare their answers, including 502 `stripe_unavailable` when they call Stripe.
  it.each(
    routes.filter((route) => !routeProfiles[route.name]?.webhookSecret).map((route) => [route.name, route.entry]),
  )('%s reads the Stripe key exactly when its handler declares calling Stripe', async (name, entry) => {
    // Prepare
    const handler = (await import(pathToFileURL(join(projectRoot, entry)).href)) as {
      responses?: Readonly<Record<number, readonly string[]>>;
    };

    // Act
    const callsStripe = handler.responses?.[502]?.includes('stripe_unavailable') ?? false;

    // Assess
    expect(handler.responses).toBeDefined();
    expect(routeProfiles[name]?.stripeSecretKey ?? false).toBe(callsStripe);
  });
});

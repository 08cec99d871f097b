import { describe, expect, it } from 'vitest';
import type { DeclaredResponses } from '../../shared/http/declared-responses.ts';
import { ERROR_CODES } from '../../shared/http/errors.ts';
import { toPaymentResource, toReaderResource } from '../../shared/payments/resource.ts';
import { routes } from '../../shared/routes.ts';
import { processing } from '../support/fixtures.ts';
import { openapi, responseValidator } from '../support/openapi.ts';

const METHODS = ['get', 'post', 'patch', 'put', 'delete'];

async function declaredResponses(entry: string): Promise<DeclaredResponses> {
  const module = (await import(`../../${entry}`)) as { responses?: DeclaredResponses };
  if (module.responses !== undefined) return module.responses;
  throw new Error(`${entry} does not export the responses it can answer with`);
}

function documentedResponses(path: string, method: string): DeclaredResponses {
  const responses = openapi().document.paths[path][method].responses as Record<string, { 'x-error-codes'?: string[] }>;
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [
      Number(status),
      [...(response['x-error-codes'] ?? [])].sort(),
    ]),
  );
}

const sorted = (declared: DeclaredResponses) =>
  Object.fromEntries(Object.entries(declared).map(([status, codes]) => [Number(status), [...codes].sort()]));

describe('openapi.yaml', () => {
  it('is OpenAPI 3.1 with the JWT bearer scheme', () => {
    // Act
    const { document } = openapi();

    // Assess
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes.posJwt).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
  });

  it('documents every route of shared/routes.ts, and nothing else', () => {
    // Prepare
    const { document } = openapi();
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, item]) =>
        Object.keys(item)
          .filter((key) => METHODS.includes(key))
          .map((method) => `${method.toUpperCase()} ${path}`),
    );

    // Act
    const implemented = routes.map((route) => `${route.method} ${route.path}`);

    // Assess
    expect(documented.sort()).toEqual(implemented.sort());
  });

  it.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s: documents exactly the statuses and error codes its handler declares',
    async (_, route) => {
      // Prepare
      const declared = sorted(await declaredResponses(route.entry));

      // Act
      const documented = documentedResponses(route.path, route.method.toLowerCase());

      // Assess
      expect(documented).toEqual(declared);
    },
  );

  it.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s: asks for the token exactly when the route is behind the authorizer',
    (_, route) => {
      // Act
      const security = openapi().document.paths[route.path][route.method.toLowerCase()].security;

      // Assess
      expect(security).toEqual(route.auth === 'jwt' ? [{ posJwt: [] }] : []);
    },
  );

  it('lists every error code the handlers use in the Error schema', () => {
    // Act
    const codes: string[] = openapi().document.components.schemas.Error.properties.code.enum;

    // Assess
    expect(codes).toEqual(expect.arrayContaining([...ERROR_CODES]));
  });

  it('describes the resources the domain builds, and rejects what it does not describe', () => {
    // Prepare
    const getPayment = responseValidator('GET /payments/{id}', 200)!;
    const getReader = responseValidator('GET /readers/{id}', 200)!;
    const payment = toPaymentResource(processing());
    const reader = toReaderResource({
      id: 'tmr_1',
      label: 'Front',
      locationId: 'tml_A',
      deviceType: 'simulated_wisepos_e',
      status: 'online',
      action: {
        type: 'process_payment_intent',
        status: 'in_progress',
        failureCode: null,
        failureMessage: null,
        paymentIntentId: 'pi_1',
      },
      lastSeenAt: '2026-12-04T10:00:00.000Z',
      health: 'stuck',
    });

    // Act & Assess
    expect(getPayment({ payment })).toBe(true);
    expect(getReader({ reader })).toBe(true);
    expect(getPayment({ payment: { ...payment, secret: 'x' } })).toBe(false);
    expect(getPayment({ payment: { ...payment, status: 'paid' } })).toBe(false);
    expect(getPayment({ payment: { ...payment, amount: '12.99' } })).toBe(false);
    expect(getReader({ reader: { ...reader, health: 'unwell' } })).toBe(false);
  });
});

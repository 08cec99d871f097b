/**
 * `asyncapi.yaml` against the code: the same message types, error codes and client actions; every reference
 * resolves; every example is valid; and the document accepts exactly the client frames the service accepts.
 */
import { describe, expect, it } from 'vitest';
import { liveLimits } from '../../../shared/live/definition.ts';
import {
  CLIENT_ACTIONS,
  ERROR_CODES,
  parseClientMessage,
  SERVER_MESSAGE_TYPES,
} from '../../../shared/live/messages.ts';
import { asyncapi, asyncapiSchema } from '../../support/asyncapi.ts';

const { document } = asyncapi();
const schemas = document.components.schemas;

/** Every `$ref` in `value`, with where it is. */
function references(value: unknown, path = '#'): { path: string; ref: string }[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === '$ref' && typeof inner === 'string' ? [{ path, ref: inner }] : references(inner, `${path}/${key}`),
  );
}

function resolve(pointer: string): unknown {
  return pointer
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}

/** The `const` of a property in a schema and in the branches of its `oneOf`. */
function constsOf(schema: Record<string, unknown>, property: string): string[] {
  const own = (schema.properties as Record<string, { const?: string }> | undefined)?.[property]?.const;
  const branches = (schema.oneOf as Record<string, unknown>[] | undefined) ?? [];
  return [
    ...(own === undefined ? [] : [own]),
    ...branches.flatMap((branch) => {
      const target = typeof branch.$ref === 'string' ? (resolve(branch.$ref) as Record<string, unknown>) : branch;
      return constsOf(target, property);
    }),
  ];
}

describe('asyncapi.yaml', () => {
  it('is an AsyncAPI 3.0 document whose references all resolve', () => {
    // Act
    const unresolved = references(document).filter(
      ({ ref }) => !ref.startsWith('./openapi.yaml#') && resolve(ref) === undefined,
    );

    // Assess
    expect(document.asyncapi).toBe('3.0.0');
    expect(unresolved).toEqual([]);
  });

  it('names every message type the service sends, and no other', () => {
    // Act
    const types = new Set(constsOf(schemas.ServerMessage, 'type'));

    // Assess
    expect([...types].sort()).toEqual([...SERVER_MESSAGE_TYPES].sort());
  });

  it('lists the error codes and the client actions of the code', () => {
    // Assess
    expect(schemas.Error.properties.code.enum).toEqual([...ERROR_CODES]);
    const actions = new Set(['Subscribe', 'Unsubscribe', 'Ping'].flatMap((name) => constsOf(schemas[name], 'action')));
    expect([...actions].sort()).toEqual([...CLIENT_ACTIONS].sort());
  });

  it('has examples that are valid messages', () => {
    // Act
    const invalid = Object.entries(
      document.components.messages as Record<string, { payload: { $ref: string }; examples?: { payload: unknown }[] }>,
    )
      .flatMap(([name, message]) =>
        (message.examples ?? []).map((example) => ({
          name,
          example,
          schema: message.payload.$ref.split('/').at(-1) as string,
        })),
      )
      .filter(({ example, schema }) => !asyncapiSchema(schema)(example.payload));

    // Assess
    expect(invalid).toEqual([]);
  });

  it.each([
    [{ action: 'ping' }],
    [{ action: 'subscribe', locationId: 'tml_123' }],
    [{ action: 'subscribe', paymentId: 'pi_123' }],
    [{ action: 'unsubscribe', paymentId: 'pi_123' }],
    [{ action: 'unsubscribe', locationId: 'tml_123' }],
    [{ action: 'subscribe' }],
    [{ action: 'subscribe', locationId: 'tml_1', paymentId: 'pi_1' }],
    [{ action: 'subscribe', paymentId: '' }],
    [{ action: 'subscribe', paymentId: 'pi/1' }],
    [{ action: 'subscribe', paymentId: 'x'.repeat(256) }],
    [{ action: 'subscribe', paymentId: 42 }],
    [{ action: 'ping', extra: 1 }],
    [{ action: 'unsubscribe', paymentId: 'pi_1', locationId: 'tml_1' }],
  ])('accepts %j exactly when the service does', (frame) => {
    // Act
    const documented = ['Subscribe', 'Unsubscribe', 'Ping'].some((name) => asyncapiSchema(name)(frame));
    const served = parseClientMessage(JSON.stringify(frame), liveLimits.maxMessageBytes).ok;

    // Assess
    expect(documented).toBe(served);
  });
});

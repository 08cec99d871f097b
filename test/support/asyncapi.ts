/**
 * `asyncapi.yaml` as a validator: the live-updates tests check every message a client receives against the
 * document's `ServerMessage` schema (the Payment and Reader resources resolved from `openapi.yaml`), so the published
 * contract cannot drift from what is sent.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

export const asyncapiPath = fileURLToPath(new URL('../../asyncapi.yaml', import.meta.url));
const openapiPath = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));
const BASE = 'https://terminal-payments.invalid/';

// biome-ignore lint/suspicious/noExplicitAny: the parsed YAML document
export type AsyncApiDocument = any;

let loaded: { document: AsyncApiDocument; ajv: Ajv2020 } | undefined;

/** The parsed document, and an Ajv instance that resolves its references, those into `openapi.yaml` included. */
export function asyncapi(): { document: AsyncApiDocument; ajv: Ajv2020 } {
  if (loaded === undefined) {
    const document = parse(readFileSync(asyncapiPath, 'utf8'));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(parse(readFileSync(openapiPath, 'utf8')), `${BASE}openapi.yaml`);
    ajv.addSchema(document, `${BASE}asyncapi.yaml`);
    loaded = { document, ajv };
  }
  return loaded;
}

/** The validator of a schema of the document's `components.schemas`. */
export function asyncapiSchema(name: string): ValidateFunction {
  const validate = asyncapi().ajv.getSchema(`${BASE}asyncapi.yaml#/components/schemas/${name}`);
  if (validate === undefined) throw new Error(`asyncapi.yaml has no schema ${name}`);
  return validate;
}

/** Why `message` is not a message the document describes; empty when it is one. */
export function liveMessageProblems(message: unknown): string[] {
  const validate = asyncapiSchema('ServerMessage');
  if (validate(message)) return [];
  return [`${JSON.stringify(message).slice(0, 300)}: ${asyncapi().ajv.errorsText(validate.errors)}`];
}

/**
 * `openapi.yaml` as a validator: the integration tests check every answer's body against the schema the
 * document gives for its route and status, so the published contract cannot drift from what the code answers.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

export const openapiPath = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: the parsed YAML document
export type OpenApiDocument = any;

let loaded: { document: OpenApiDocument; ajv: Ajv2020 } | undefined;

/** The parsed document, and an Ajv instance that resolves its `#/components/...` references. */
export function openapi(): { document: OpenApiDocument; ajv: Ajv2020 } {
  if (loaded === undefined) {
    const document = parse(readFileSync(openapiPath, 'utf8'));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(document, 'openapi.yaml');
    loaded = { document, ajv };
  }
  return loaded;
}

const pointer = (segment: string) => encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));
const cache = new Map<string, ValidateFunction | undefined>();

/**
 * The validator of the JSON body the document gives for `routeKey` (`POST /payments/{id}/capture`) and `status`;
 * undefined when the document has no such response.
 */
export function responseValidator(routeKey: string, status: number): ValidateFunction | undefined {
  const key = `${routeKey} ${status}`;
  if (!cache.has(key)) {
    const [method, path] = routeKey.split(' ') as [string, string];
    const { document, ajv } = openapi();
    const exists =
      document.paths?.[path]?.[method.toLowerCase()]?.responses?.[String(status)]?.content?.['application/json'];
    const ref = `openapi.yaml#/paths/${pointer(path)}/${method.toLowerCase()}/responses/${status}/content/${pointer('application/json')}/schema`;
    cache.set(key, exists ? ajv.getSchema(ref) : undefined);
  }
  return cache.get(key);
}

/** Whether the document gives `routeKey` a response with `status` at all (a 204 has no body to validate). */
export function documentsResponse(routeKey: string, status: number): boolean {
  const [method, path] = routeKey.split(' ') as [string, string];
  return openapi().document.paths?.[path]?.[method.toLowerCase()]?.responses?.[String(status)] !== undefined;
}

/**
 * A Vite plugin for test runs: rewrites each handler entry of `shared/routes.ts` (routes, background and live
 * functions) so that its exported `handler` runs as its function (`attribution.ts`). Only `export const handler = …`
 * is supported; an entry written another way fails the transform loudly instead of leaving its AWS calls unattributed.
 */
import { resolve } from 'node:path';
import type { Plugin } from 'vitest/config';
import { backgroundFunctions, liveFunctions, routes } from '../../../shared/routes.ts';

const HANDLER_EXPORT = /^export const handler\b/m;
const attribution = resolve(import.meta.dirname, 'attribution.ts');

/** The plugin, for the handler entries under `root` (the repository root). */
export function attributeHandlers(root: string): Plugin {
  const functionOf = new Map(
    [...routes, ...Object.values(backgroundFunctions), ...Object.values(liveFunctions)].map((fn) => [
      resolve(root, fn.entry),
      fn.name,
    ]),
  );
  return {
    name: 'attribute-handlers',
    enforce: 'pre',
    transform(code, id) {
      const name = functionOf.get(id.split('?')[0] ?? id);
      if (name === undefined) return null;
      if (code.match(new RegExp(HANDLER_EXPORT, 'gm'))?.length !== 1) {
        this.error(`${id}: expected one 'export const handler = …' to attribute ${name}'s AWS calls to it`);
      }
      // Same lines as the source: only the export moves, to the end.
      const rewritten = code.replace(HANDLER_EXPORT, 'const handler');
      return {
        code:
          `${rewritten}\n` +
          `import { attributedHandler as __attributedHandler } from ${JSON.stringify(attribution)};\n` +
          `const __handler = __attributedHandler(${JSON.stringify(name)}, handler);\n` +
          'export { __handler as handler };\n',
        map: null,
      };
    },
  };
}

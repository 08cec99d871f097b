/** The listing cursor: opaque to the POS (base64url JSON), the `createdKey` to continue before. */
const VERSION = 1;

export function encodeCursor(before: string): string {
  return Buffer.from(JSON.stringify({ v: VERSION, before }), 'utf8').toString('base64url');
}

/** The `createdKey` in a cursor; undefined when it is not one this API made. */
export function decodeCursor(cursor: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { v, before } = parsed as { v?: unknown; before?: unknown };
    return v === VERSION && typeof before === 'string' && before.length > 0 ? before : undefined;
  } catch {
    return undefined;
  }
}

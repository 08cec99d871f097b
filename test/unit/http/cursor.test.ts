import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../../shared/store/cursor.ts';

describe('listing cursor', () => {
  it('round-trips any created key', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (key) => {
        expect(decodeCursor(encodeCursor(key))).toBe(key);
      }),
    );
  });

  it.each([
    'not-a-cursor',
    '',
    Buffer.from('{"v":2,"before":"x"}').toString('base64url'),
    Buffer.from('[]').toString('base64url'),
  ])('rejects %s', (cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });
});

/** What the console reads from its JWT: the claims, unverified (the API verifies them), and whether it has expired. */

/** A JWT's payload; throws for a token that is not one. */
export function claimsOf(token: string): Record<string, unknown> {
  const text = atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(text, (character) => character.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

/** True when the token is past its `exp`, or will be within `marginMs`; a token that cannot be read counts as expired. */
export function tokenExpired(token: string, marginMs = 0): boolean {
  try {
    const { exp } = claimsOf(token);
    return typeof exp === 'number' && exp * 1000 <= Date.now() + marginMs;
  } catch {
    return true;
  }
}

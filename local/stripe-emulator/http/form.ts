/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` bodies and query strings, nested with
 * bracket notation (`process_config[tipping][amount_eligible]=100`) and arrays as `expand[0]=…` or `expand[]=…`.
 * The result is a tree of strings; the parameter rules decide which hashes are arrays.
 */

/** A decoded form value: a string, or a hash of further values. */
export type FormValue = string | FormHash;

/** A decoded hash (`a[b]=…`); arrays arrive as hashes keyed `0`, `1`, … */
export interface FormHash {
  [key: string]: FormValue;
}

/** Split `a[b][]` into `['a', 'b', '']`; a key with unbalanced brackets stays whole. */
function keyPath(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return [key];
  const path = [key.slice(0, open)];
  const rest = key.slice(open);
  const pattern = /\[([^[\]]*)\]/gy;
  let consumed = 0;
  for (let match = pattern.exec(rest); match !== null; match = pattern.exec(rest)) {
    path.push(match[1] ?? '');
    consumed = pattern.lastIndex;
  }
  return consumed === rest.length ? path : [key];
}

function nextIndex(hash: FormHash): string {
  return String(Object.keys(hash).filter((key) => /^\d+$/.test(key)).length);
}

function assign(root: FormHash, path: string[], value: string): void {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    let segment = path[i] ?? '';
    if (segment === '' && i > 0) segment = nextIndex(node);
    if (i === path.length - 1) {
      node[segment] = value;
      return;
    }
    const child = node[segment];
    if (child === undefined || typeof child === 'string') {
      const created: FormHash = {};
      node[segment] = created;
      node = created;
    } else {
      node = child;
    }
  }
}

/** Decode a form-encoded body or a query string (without the leading `?`). */
export function parseForm(encoded: string): FormHash {
  const root: FormHash = {};
  for (const [key, value] of new URLSearchParams(encoded)) {
    if (key === '') continue;
    assign(root, keyPath(key), value);
  }
  return root;
}

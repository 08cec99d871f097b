/**
 * Parameter rules per endpoint, checked against the `stripe` package's own `*Params` types: a `ParamSpec<T>`
 * must name every parameter of `T`, and mark exactly `T`'s required ones `required`, or it does not compile.
 * Requests are then checked the way Stripe checks them: unknown → `parameter_unknown`, missing →
 * `parameter_missing`, wrong type → `parameter_invalid_*` (or Stripe's plain "Invalid …" messages), each with
 * `param` set to the bracketed name (`process_config[tipping][amount_eligible]`).
 */
import { errors } from '../errors.ts';
import type { FormHash, FormValue } from './form.ts';

interface RuleBase {
  required?: boolean;
  /** Stripe's `Emptyable<…>`: an empty string unsets the value. */
  emptyable?: boolean;
}

/** How one parameter is parsed from its form value. */
export type Rule =
  | (RuleBase & { kind: 'string'; values?: readonly string[] })
  | (RuleBase & { kind: 'integer'; min?: number })
  | (RuleBase & { kind: 'boolean' })
  | (RuleBase & { kind: 'hash'; fields?: Readonly<Record<string, Rule>> })
  | (RuleBase & { kind: 'metadata' })
  | (RuleBase & { kind: 'array'; items: Rule })
  | (RuleBase & { kind: 'range' })
  | (RuleBase & { kind: 'boolean_or_hash' });

/** A rule for a parameter the SDK type marks optional. */
export type OptionalRule = Rule & { required?: false };
/** A rule for a parameter the SDK type requires. */
export type RequiredRule = Rule & { required: true };

type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/** Rules for every parameter of the SDK type `T`; required exactly where `T` requires. */
export type ParamSpec<T> = {
  [K in keyof T]-?: K extends OptionalKeys<T> ? OptionalRule : RequiredRule;
};

/** Rules of one endpoint, as checked at run time. */
export type Rules = Readonly<Record<string, Rule>>;

/** An endpoint's rules from the SDK type's spec, plus parameters Stripe still accepts beyond the type. */
export function paramsOf<T>(spec: ParamSpec<T>, extra: Rules = {}): Rules {
  return { ...(spec as Rules), ...extra };
}

export const rule = {
  string: (values?: readonly string[]): OptionalRule =>
    values === undefined ? { kind: 'string' } : { kind: 'string', values },
  emptyableString: (values?: readonly string[]): OptionalRule =>
    values === undefined ? { kind: 'string', emptyable: true } : { kind: 'string', values, emptyable: true },
  integer: (min?: number): OptionalRule => (min === undefined ? { kind: 'integer' } : { kind: 'integer', min }),
  emptyableInteger: (): OptionalRule => ({ kind: 'integer', emptyable: true }),
  boolean: (): OptionalRule => ({ kind: 'boolean' }),
  /** A hash whose keys are not checked further (nested shapes the emulator does not act on). */
  anyHash: (): OptionalRule => ({ kind: 'hash' }),
  emptyableAnyHash: (): OptionalRule => ({ kind: 'hash', emptyable: true }),
  hashOf: <T>(fields: ParamSpec<T>): OptionalRule => ({ kind: 'hash', fields: fields as Rules }),
  metadata: (): OptionalRule => ({ kind: 'metadata', emptyable: true }),
  arrayOf: (items: Rule): OptionalRule => ({ kind: 'array', items }),
  emptyableArrayOf: (items: Rule): OptionalRule => ({ kind: 'array', items, emptyable: true }),
  range: (): OptionalRule => ({ kind: 'range' }),
  booleanOrHash: (): OptionalRule => ({ kind: 'boolean_or_hash' }),
  expand: (): OptionalRule => ({ kind: 'array', items: { kind: 'string' } }),
  required: (inner: OptionalRule): RequiredRule => ({ ...inner, required: true }),
};

/** Pagination parameters shared by every list endpoint. */
export const pagination = {
  limit: rule.integer(),
  starting_after: rule.string(),
  ending_before: rule.string(),
} as const;

/** A parsed parameter value. */
export type ParamValue = string | number | boolean | ParamValue[] | { [key: string]: ParamValue };

function paramName(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}[${key}]`;
}

function parseValue(value: FormValue, r: Rule, name: string): ParamValue {
  // An empty value means "unset" to Stripe, allowed only where the SDK type says `Emptyable`.
  if (value === '' && r.kind !== 'string') {
    if (r.emptyable) return '';
    throw errors.parameterInvalidEmpty(name);
  }
  switch (r.kind) {
    case 'string': {
      if (typeof value !== 'string') throw errors.invalidString(name);
      if (value === '') {
        if (r.emptyable) return '';
        throw errors.parameterInvalidStringEmpty(name);
      }
      if (r.values !== undefined && !r.values.includes(value)) throw errors.invalidEnum(name, r.values);
      return value;
    }
    case 'integer': {
      if (typeof value !== 'string' || !/^-?\d+$/.test(value)) {
        throw errors.parameterInvalidInteger(name, typeof value === 'string' ? value : '[object]');
      }
      const parsed = Number(value);
      if (!Number.isSafeInteger(parsed)) throw errors.parameterInvalidInteger(name, value);
      if (r.min !== undefined && parsed < r.min) throw errors.parameterIntegerTooSmall(name, r.min);
      return parsed;
    }
    case 'boolean': {
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw errors.invalidBoolean(name, typeof value === 'string' ? value : '[object]');
    }
    case 'boolean_or_hash': {
      if (typeof value !== 'string') return parseHash(value, undefined, name);
      return parseValue(value, { kind: 'boolean' }, name);
    }
    case 'range': {
      if (typeof value === 'string') return parseValue(value, { kind: 'integer' }, name);
      const bounds = { gt: rule.integer(), gte: rule.integer(), lt: rule.integer(), lte: rule.integer() };
      return parseHash(value, bounds, name);
    }
    case 'hash': {
      if (typeof value === 'string') throw errors.invalidHash(name);
      return parseHash(value, r.fields, name);
    }
    case 'metadata': {
      if (typeof value === 'string') throw errors.invalidHash(name);
      const metadata: Record<string, ParamValue> = {};
      for (const [key, entry] of Object.entries(value)) {
        if (typeof entry !== 'string') throw errors.invalidString(paramName(name, key));
        metadata[key] = entry;
      }
      return metadata;
    }
    case 'array': {
      if (typeof value === 'string') throw errors.invalidArray(name);
      const keys = Object.keys(value);
      if (!keys.every((key) => /^\d+$/.test(key))) throw errors.invalidArray(name);
      return keys
        .map(Number)
        .sort((a, b) => a - b)
        .map((index) => parseValue(value[String(index)] as FormValue, r.items, `${name}[${index}]`));
    }
  }
}

function parseHash(hash: FormHash, fields: Rules | undefined, prefix: string): { [key: string]: ParamValue } {
  const parsed: { [key: string]: ParamValue } = {};
  if (fields === undefined) {
    for (const [key, value] of Object.entries(hash)) {
      parsed[key] = typeof value === 'string' ? value : parseHash(value, undefined, paramName(prefix, key));
    }
    return parsed;
  }
  // Stripe names an unknown parameter before it complains about a missing one.
  for (const key of Object.keys(hash)) {
    if (!Object.hasOwn(fields, key)) throw errors.parameterUnknown(paramName(prefix, key));
  }
  for (const [key, r] of Object.entries(fields)) {
    const value = hash[key];
    if (value === undefined) {
      if (r.required) throw errors.parameterMissing(paramName(prefix, key));
      continue;
    }
    parsed[key] = parseValue(value, r, paramName(prefix, key));
  }
  return parsed;
}

/** Check decoded request parameters against an endpoint's rules; throws the Stripe error Stripe would give. */
export function validateParams(input: FormHash, rules: Rules): Record<string, ParamValue> {
  return parseHash(input, rules, '');
}

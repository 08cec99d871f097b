/** The payment domain: records, the observation reducer, decisions, keys and resources. Pure, no I/O. */
export * from './idempotency.ts';
export * from './index-attributes.ts';
export * from './money.ts';
export * from './process.ts';
export * from './record.ts';
export * from './reducer.ts';
export * from './resource.ts';
export * from './rules.ts';
export * from './types.ts';

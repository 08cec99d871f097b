/**
 * The process's Powertools logger. Handlers log what happened to a payment (ids, statuses, codes), never request
 * bodies, tokens, the Stripe key or card numbers.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'terminal-payments' });

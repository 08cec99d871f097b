/**
 * CDK entry point (`cdk.json`: `node infra/app.ts`; Node 24 runs the TypeScript directly).
 *
 *   npx cdk synth                      dev stage
 *   npx cdk deploy -c stage=prod       prod stage (deletion protection, RETAIN, longer log retention)
 *   npx cdk synth -c nag=true          also run cdk-nag's AwsSolutions checks
 *   npx cdk deploy -c console=true     also serve the POS console on CloudFront (infra/README.md, "Console")
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { buildPaymentsApp } from './payments-app.ts';

buildPaymentsApp(new App(), resolve(dirname(fileURLToPath(import.meta.url)), '..'));

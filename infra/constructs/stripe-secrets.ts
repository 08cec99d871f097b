/**
 * The two Stripe secrets, created without a value: the operator puts the real ones in after the first deploy
 * (README). Functions get only the ARNs and read the values at cold start (`shared/secrets.ts`).
 */

import { Validations } from 'aws-cdk-lib';
import { type CfnSecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { StageSettings } from '../settings.ts';

export class StripeSecrets extends Construct {
  /** The restricted or secret API key (`rk_…` / `sk_…`). */
  readonly secretKey: Secret;
  /** The webhook endpoint's signing secret (`whsec_…`; comma-separated old and new while rolling it). */
  readonly webhookSigningSecret: Secret;

  constructor(scope: Construct, id: string, props: { settings: StageSettings }) {
    super(scope, id);
    this.secretKey = emptySecret(this, 'SecretKey', 'Stripe API key of the terminal payments service', props.settings);
    this.webhookSigningSecret = emptySecret(
      this,
      'WebhookSigningSecret',
      'Signing secret of the Stripe webhook endpoint that delivers Terminal and PaymentIntent events',
      props.settings,
    );
  }
}

function emptySecret(scope: Construct, id: string, description: string, settings: StageSettings): Secret {
  const secret = new Secret(scope, id, { description, removalPolicy: settings.removalPolicy });
  // Without a value of its own, CDK would generate a random string that looks like a key and is not one.
  (secret.node.defaultChild as CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'Stripe keys and webhook signing secrets are rolled in the Stripe Dashboard, which no rotation Lambda can ' +
      'call; the README runbook rolls them and puts the new value with put-secret-value.',
  });
  return secret;
}

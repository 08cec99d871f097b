/**
 * Who may call the POS routes. By default a Cognito user pool: one user per cashier or register, whose
 * `custom:locations` attribute lists the Stripe Terminal locations it may act for (`*` for all), and whose
 * `custom:role` is `admin` for a shop's admin (the fleet routes: locations and readers). Both are set by an
 * administrator (`AdminUpdateUserAttributes`), never by the user. The POS signs in with the app client and sends
 * the ID token, which carries them; the API's JWT authorizer accepts ID tokens whose audience is the app client.
 * A user with `*` or `admin` gets those claims only after signing in with an authenticator app (TOTP): the stack adds
 * the pre token generation trigger (`functions/identity/issue-tokens.ts`) that withholds them otherwise. With context `jwtIssuer`/`jwtAudience` an
 * existing issuer is trusted instead and no pool is created.
 * The POS console (context `console`, `pos-console.ts`) signs users of the same pool in with an app client of its own,
 * with the tokens and attributes of this one (`STAFF_CLIENT_TOKENS`).
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  ClientAttributes,
  FeaturePlan,
  Mfa,
  StandardThreatProtectionMode,
  StringAttribute,
  UserPool,
  type UserPoolClient,
  type UserPoolClientOptions,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { StageSettings } from '../settings.ts';

/** Name of the custom attribute (the claim is `custom:locations`). */
export const LOCATIONS_ATTRIBUTE = 'locations';

/** Name of the role attribute (the claim is `custom:role`): `admin` for a shop's admin, who manages the fleet. */
export const ROLE_ATTRIBUTE = 'role';

/**
 * The tokens and attributes of every app client staff sign in with (the POS app's, the console's): how long each
 * token lasts, and which attributes the client may read and write.
 */
export const STAFF_CLIENT_TOKENS = {
  idTokenValidity: Duration.hours(1),
  accessTokenValidity: Duration.hours(1),
  // One shift plus margin: a register signed in in the morning stays signed in until closing.
  refreshTokenValidity: Duration.hours(16),
  enableTokenRevocation: true,
  readAttributes: new ClientAttributes()
    .withStandardAttributes({ email: true, fullname: true })
    .withCustomAttributes(LOCATIONS_ATTRIBUTE, ROLE_ATTRIBUTE),
  // Users must never write their own `custom:locations` or `custom:role`: that would widen what they may act on.
  writeAttributes: new ClientAttributes().withStandardAttributes({ fullname: true }),
} as const satisfies UserPoolClientOptions;

export class PosIdentity extends Construct {
  /** Issuer URL the JWT authorizer trusts. */
  readonly issuer: string;
  /** Accepted `aud` values. */
  readonly audience: string[];
  readonly userPool?: UserPool;
  readonly client?: UserPoolClient;

  constructor(scope: Construct, id: string, props: { settings: StageSettings }) {
    super(scope, id);
    const { settings } = props;
    if (settings.externalJwt) {
      this.issuer = settings.externalJwt.issuer;
      this.audience = settings.externalJwt.audience;
      return;
    }

    this.userPool = new UserPool(this, 'Users', {
      // Staff accounts are created by an administrator, never by whoever finds the sign-up endpoint.
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      customAttributes: {
        [LOCATIONS_ATTRIBUTE]: new StringAttribute({ minLen: 1, maxLen: 2048, mutable: true }),
        // Added to a pool that exists in place: CloudFormation adds custom attributes without replacing the pool.
        [ROLE_ATTRIBUTE]: new StringAttribute({ minLen: 1, maxLen: 32, mutable: true }),
      },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      // A lost password is reset by the administrator who created the account.
      accountRecovery: AccountRecovery.NONE,
      // Plus: compromised-credential checks and adaptive sign-in protection for accounts that move money.
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: settings.deletionProtection,
      removalPolicy: settings.removalPolicy,
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason:
        'MFA (TOTP) is required where it matters and optional elsewhere: a user who may act for every location or ' +
        'is an admin gets those claims only after a second factor (the pre token generation trigger, ' +
        'functions/identity/issue-tokens.ts); cashiers sign in on shared registers, where a second factor per cashier ' +
        'is not workable. The pool runs Plus threat protection and a 12-character password policy.',
    });

    this.client = this.userPool.addClient('PosApp', {
      // A POS app cannot keep a client secret; SRP never sends the password itself.
      generateSecret: false,
      authFlows: { userSrp: true },
      // The POS signs in through the Cognito API, not the hosted UI: no OAuth flows, no callback URLs.
      disableOAuth: true,
      preventUserExistenceErrors: true,
      ...STAFF_CLIENT_TOKENS,
    });

    const { region, urlSuffix } = Stack.of(this);
    this.issuer = `https://cognito-idp.${region}.${urlSuffix}/${this.userPool.userPoolId}`;
    this.audience = [this.client.userPoolClientId];
  }
}

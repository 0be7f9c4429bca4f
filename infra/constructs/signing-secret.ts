import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Letters and digits of the generated key: 64 of them hold about 380 bits. */
export const SIGNING_KEY_LENGTH = 64;

/**
 * The key that signs the silence links in the mails, `{"key": "<64 letters and digits>"}`, generated
 * by Secrets Manager at deploy time so no template or person ever sees it. Rotating it (a new value
 * with put-secret-value, or `rotate-secret`) moves the old value to AWSPREVIOUS, with which the
 * functions still check links until they expire.
 */
export class SigningSecret extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description: 'Signs the silence links of the alert mails: {"key": "<64 random letters and digits>"}',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'key',
        passwordLength: SIGNING_KEY_LENGTH,
        excludePunctuation: true,
        includeSpace: false,
      },
      // A replaced key only ends the silence links already mailed; nothing else depends on it.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A new key invalidates every silence link already mailed once the previous one leaves AWSPREVIOUS; it is rotated by hand (put-secret-value with a new {"key"}) when needed, and the functions keep accepting links signed with the previous key until they expire (7 days).',
    });
  }

  /** Lets `grantee` read the key (AWSCURRENT and AWSPREVIOUS). */
  grantRead(grantee: IGrantable): void {
    this.secret.grantRead(grantee);
  }
}

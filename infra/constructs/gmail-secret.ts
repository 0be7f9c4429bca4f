import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type CfnSecret, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface GmailSecretProps {
  /** Complete ARN of an existing secret (context `secretArn`); without it the stack creates one. */
  readonly secretArn: string | undefined;
  /** The customer managed key that encrypts the existing secret (context `secretKmsKeyArn`). */
  readonly kmsKeyArn?: string | undefined;
}

/**
 * The Gmail credentials, `{"username": …, "password": …}`, in Secrets Manager.
 *
 * A secret the stack creates starts empty and is retained: the template never carries a value, so
 * no stack update can write over the App Password that `npm run secret:set` stored, and neither a
 * `cdk destroy` nor a replacement deletes it (CloudFormation would delete it at once, without the
 * recovery window the console offers).
 */
export class GmailSecret extends Construct {
  readonly secret: ISecret;
  readonly created: boolean;
  readonly kmsKeyArn: string | undefined;

  constructor(scope: Construct, id: string, props: GmailSecretProps) {
    super(scope, id);
    this.created = props.secretArn === undefined;
    this.kmsKeyArn = props.kmsKeyArn;
    if (props.secretArn !== undefined) {
      this.secret = Secret.fromSecretCompleteArn(this, 'Secret', props.secretArn);
      return;
    }
    const secret = new Secret(this, 'Secret', {
      description:
        'Gmail SMTP credentials for the alert functions: {"username":"you@gmail.com","password":"<16-letter App Password>"}',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudFormation creates a secret without a value when both SecretString and GenerateSecretString
    // are absent. Until secret:set puts one, the functions answer with a configuration error naming
    // GMAIL_SECRET_ID (Secrets Manager: ResourceNotFoundException), before any AUTH at Gmail.
    (secret.node.defaultChild as CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is a Google App Password, which only the account owner can create or revoke in their Google Account; Secrets Manager rotation cannot rotate it. Replace it with `npm run secret:set` or put-secret-value.',
    });
    this.secret = secret;
  }

  /**
   * Lets `grantee` read the secret and, for an imported secret under a customer managed key,
   * decrypt it with that key through Secrets Manager only (`kms:ViaService`). Without the grant,
   * GetSecretValue on such a secret fails with AccessDeniedException on every cold start.
   */
  grantRead(grantee: IGrantable): void {
    this.secret.grantRead(grantee);
    if (this.kmsKeyArn === undefined) return;
    // The key's region is the secret's (context validation checks it).
    const region = this.kmsKeyArn.split(':')[3];
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.kmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
      }),
    );
  }
}

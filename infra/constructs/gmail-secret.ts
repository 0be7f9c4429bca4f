import { SecretValue, Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * What a new secret holds until the user stores the real App Password. Empty on purpose: the
 * functions reject an empty username or password as a configuration error naming GMAIL_SECRET_ID,
 * before any AUTH, so a placeholder never counts towards Gmail's "too many login attempts".
 */
export const PLACEHOLDER_SECRET = { username: '', password: '' } as const;

export interface GmailSecretProps {
  /** Complete ARN of an existing secret (context `secretArn`); without it the stack creates one. */
  readonly secretArn: string | undefined;
}

/** The Gmail credentials, `{"username": …, "password": …}`, in Secrets Manager. */
export class GmailSecret extends Construct {
  readonly secret: ISecret;
  readonly created: boolean;

  constructor(scope: Construct, id: string, props: GmailSecretProps) {
    super(scope, id);
    this.created = props.secretArn === undefined;
    if (props.secretArn !== undefined) {
      this.secret = Secret.fromSecretCompleteArn(this, 'Secret', props.secretArn);
      return;
    }
    const secret = new Secret(this, 'Secret', {
      description:
        'Gmail SMTP credentials for the alert functions: {"username":"you@gmail.com","password":"<16-letter App Password>"}',
      // A placeholder, not a credential: the README shows how to put the real value.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(PLACEHOLDER_SECRET)),
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is a Google App Password, which only the account owner can create or revoke in their Google Account; Secrets Manager rotation cannot rotate it. Replace it with `npm run secret:set` or put-secret-value.',
    });
    this.secret = secret;
  }
}

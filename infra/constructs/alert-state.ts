import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { STATE_TABLE_SCHEMA } from '../../functions/core/config-contract.ts';

/**
 * The item operations the functions use: Powertools Idempotency, the repeat interval and the quota
 * guard (which reads its 25 hourly counters in one BatchGetItem). No scans, no queries.
 */
export const STATE_TABLE_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
] as const;

/** What reading the quota guard's count takes (QuotaGuard.usage(): one BatchGetItem of the hourly counters). */
const QUOTA_READ_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:GetItem'] as const;

/**
 * The alert state table of the configuration contract (`STATE_TABLE_SCHEMA`): idempotency records
 * and repeat counts, each kind under its own key prefix. On demand (a storm costs cents, a quiet
 * month nothing), items expire through TTL, point-in-time recovery on, encrypted with the AWS
 * managed key.
 */
export class AlertState extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: STATE_TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: STATE_TABLE_SCHEMA.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      // Everything in it expires within days and is rebuilt by the next alert; nothing to keep.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** Lets `fn` read and write single items of the table, and nothing more (no scans, no queries). */
  grantItemAccess(fn: IFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: [...STATE_TABLE_ACTIONS], resources: [this.table.tableArn] }),
    );
  }

  /**
   * Lets `fn` read the quota guard's items (`quota#…`) and nothing else: no writes, and no
   * idempotency records, repeat counts, digests or silences, whose keys and subjects it has no need of.
   */
  grantQuotaRead(fn: IFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: [...QUOTA_READ_ACTIONS],
        resources: [this.table.tableArn],
        conditions: {
          // Every key the request names must start with the prefix; a BatchGetItem is checked key by key.
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${STATE_TABLE_SCHEMA.prefixes.quota}*`] },
        },
      }),
    );
  }
}

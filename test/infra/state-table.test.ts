// The alert state table: its shape as the contract promises it, who may use it, how it reaches the
// functions and the alarm on its failures.
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  ENVIRONMENT_VARIABLES,
  STATE_STORE_FAILURE_MESSAGE,
  STATE_TABLE_SCHEMA,
} from '../../functions/core/config-contract.ts';
import type { FunctionName } from '../../infra/alerting-stack.ts';
import { STATE_STORE_FAILURE_METRIC } from '../../infra/constructs/alarms.ts';
import { STATE_TABLE_ACTIONS } from '../../infra/constructs/alert-state.ts';
import {
  actionsOf,
  FUNCTION_NAMES,
  functionId,
  logicalId,
  NETWORK_MODES,
  roleStatements,
  synth,
} from './stack-template.ts';

describe.each(['none', 'new'] as const)('state table, network mode %s', (mode) => {
  const result = synth({ ...NETWORK_MODES[mode], opsEmail: 'ops@example.com' });
  const { template, stack } = result;
  const tableId = logicalId(result, stack.state.table);
  const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };

  it('is one on-demand table keyed by pk alone, with TTL on expiresAt, PITR and encryption', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: STATE_TABLE_SCHEMA.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('reaches the functions as ALERT_STATE_TABLE, the doctor included', () => {
    const functions = template.toJSON().Resources;
    for (const name of FUNCTION_NAMES) {
      const variables = functions[functionId(result, name)].Properties.Environment.Variables;
      expect(variables[ENVIRONMENT_VARIABLES.stateTable]).toEqual({ Ref: tableId });
    }
  });

  const tableStatements = (name: FunctionName) =>
    roleStatements(result, name).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('dynamodb:')),
    );

  it('lets http, sqs and eventbridge use single items of the table and nothing more', () => {
    for (const name of ['http', 'sqs', 'eventbridge'] as const) {
      const statements = tableStatements(name);
      expect(statements).toHaveLength(1);
      expect([...actionsOf(statements[0] as never)].sort()).toEqual([...STATE_TABLE_ACTIONS].sort());
      expect(statements[0]?.Resource).toEqual(tableArn);
    }
  });

  it("lets the doctor read the quota guard's items and nothing else", () => {
    const statements = tableStatements('doctor');

    // Read-only (no action that writes, deletes, scans or queries), and only keys under quota#.
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
        Resource: tableArn,
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${STATE_TABLE_SCHEMA.prefixes.quota}*`] },
        },
      },
    ]);
  });

  it('counts state-store failure log lines of the three functions into one alarmed metric', () => {
    const filters = template.findResources('AWS::Logs::MetricFilter');
    expect(Object.keys(filters)).toHaveLength(3);
    for (const filter of Object.values(filters)) {
      expect(filter.Properties.FilterPattern).toBe(`{ $.message = "${STATE_STORE_FAILURE_MESSAGE}" }`);
      expect(filter.Properties.MetricTransformations).toEqual([
        {
          MetricNamespace: STATE_STORE_FAILURE_METRIC.namespace,
          MetricName: STATE_STORE_FAILURE_METRIC.metricName,
          MetricValue: '1',
        },
      ]);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: Match.stringLikeRegexp('/StateStoreFailures$'),
      Namespace: STATE_STORE_FAILURE_METRIC.namespace,
      MetricName: STATE_STORE_FAILURE_METRIC.metricName,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: logicalId(result, stack.alarms.topic) }],
    });
  });
});

import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  FlowLog,
  FlowLogDestination,
  FlowLogResourceType,
  FlowLogTrafficType,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NetworkMode } from '../config.ts';
import type { FunctionPlacement } from './alert-function.ts';

/** HTTPS, for the AWS APIs the functions call (Secrets Manager, SQS). */
export const AWS_API_PORT = 443;

export interface AlertNetworkProps {
  readonly mode: Exclude<NetworkMode, { kind: 'none' }>;
  /** The SMTP port the functions connect to (587 STARTTLS, or 465 implicit TLS). */
  readonly smtpPort: number;
}

/**
 * The VPC path to smtp.gmail.com: private subnets whose default route is a NAT gateway, and a
 * security group that lets the functions out on the SMTP port and HTTPS only.
 *
 * HTTPS goes to 0.0.0.0/0 through the NAT gateway rather than to Secrets Manager and SQS interface
 * endpoints. The NAT gateway is needed for Gmail anyway, so endpoints would not remove it; they would
 * add about $29 a month (two endpoints in two AZs at $0.01 an hour each) to save NAT data charges on a
 * secret fetched once per container every few minutes. Narrowing 443 to endpoints would not close an
 * exfiltration path either, since the SMTP port must stay open to any address (Gmail's are not fixed).
 */
export class AlertNetwork extends Construct {
  readonly vpc: IVpc;
  readonly securityGroup: SecurityGroup;
  readonly placement: FunctionPlacement;

  constructor(scope: Construct, id: string, props: AlertNetworkProps) {
    super(scope, id);
    this.vpc =
      props.mode.kind === 'new'
        ? new Vpc(this, 'Vpc', {
            maxAzs: 2,
            // One NAT gateway keeps the fixed cost at one hourly charge; if its AZ fails, egress from
            // both private subnets stops until it is back, and alerts wait in the queue meanwhile.
            natGateways: 1,
            subnetConfiguration: [
              { name: 'Public', subnetType: SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
              { name: 'Private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
            ],
          })
        : // From ids alone: no AWS look-up, so synth works offline and without credentials.
          Vpc.fromVpcAttributes(this, 'Vpc', {
            vpcId: props.mode.vpcId,
            availabilityZones: props.mode.availabilityZones,
            privateSubnetIds: props.mode.privateSubnetIds,
            ...(props.mode.privateSubnetRouteTableIds && {
              privateSubnetRouteTableIds: props.mode.privateSubnetRouteTableIds,
            }),
          });

    if (props.mode.kind === 'existing' && !props.mode.privateSubnetRouteTableIds) {
      Validations.of(this.vpc).acknowledge({
        id: '@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason:
          'Nothing in this stack reads the route tables of the imported subnets (no gateway endpoints); context privateSubnetRouteTableIds is optional.',
      });
    }

    new FlowLog(this, 'FlowLog', {
      resourceType: FlowLogResourceType.fromVpc(this.vpc),
      trafficType: FlowLogTrafficType.ALL,
      destination: FlowLogDestination.toCloudWatchLogs(
        new LogGroup(this, 'FlowLogs', {
          retention: RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
    });

    // Security groups do not filter the VPC's own DNS resolver, so name resolution needs no rule.
    this.securityGroup = new SecurityGroup(this, 'FunctionsSecurityGroup', {
      vpc: this.vpc,
      description: 'Alert functions: SMTP to Gmail and HTTPS to AWS APIs, nothing else',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(props.smtpPort), 'SMTP to smtp.gmail.com');
    this.securityGroup.addEgressRule(
      Peer.anyIpv4(),
      Port.tcp(AWS_API_PORT),
      'HTTPS to AWS APIs (Secrets Manager, SQS) through the NAT gateway',
    );

    this.placement = {
      vpc: this.vpc,
      subnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: this.securityGroup,
    };
  }
}

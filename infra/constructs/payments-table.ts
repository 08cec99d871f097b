/**
 * The payments table, built from `shared/store/table.ts`: the same keys, indexes, TTL attribute and change stream
 * the local stack gives DynamoDB Local, so the two cannot drift apart.
 */
import { type Attribute, AttributeType, Billing, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { type KeyAttribute, paymentsTable } from '../../shared/store/table.ts';
import type { IndexName } from '../handler-profiles.ts';
import type { StageSettings } from '../settings.ts';

export class PaymentsTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: { settings: StageSettings }) {
    super(scope, id);
    const { settings } = props;
    this.table = new TableV2(this, 'Table', {
      partitionKey: attribute(paymentsTable.partitionKey),
      sortKey: attribute(paymentsTable.sortKey),
      globalSecondaryIndexes: Object.values(paymentsTable.indexes)
        .filter((index) => !settings.withheldIndexes.includes(index.indexName))
        .map((index) => ({
          indexName: index.indexName,
          partitionKey: attribute(index.partitionKey),
          sortKey: attribute(index.sortKey),
        })),
      // Applied-event markers expire on their own after Stripe's retry window.
      timeToLiveAttribute: paymentsTable.timeToLiveAttribute,
      // Every change with the item before and after it, for the live-updates notifier.
      dynamoStream: StreamViewType[paymentsTable.streamViewType],
      // POS traffic follows opening hours: on-demand costs nothing at night and never throttles a rush.
      billing: Billing.onDemand(),
      // The table is the record of which payment is authorized or captured: restorable to any second.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: settings.deletionProtection,
      removalPolicy: settings.removalPolicy,
    });
  }

  /** The ARN of the table's change stream. */
  get streamArn(): string {
    const arn = this.table.tableStreamArn;
    if (arn === undefined) throw new Error('The payments table has no stream');
    return arn;
  }

  /** The ARN of one index, for an IAM statement that allows `Query` on it and nothing else. */
  indexArn(indexName: IndexName): string {
    return `${this.table.tableArn}/index/${paymentsTable.indexes[indexName].indexName}`;
  }
}

function attribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

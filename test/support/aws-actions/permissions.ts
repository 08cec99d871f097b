/**
 * The IAM permissions an AWS SDK call needs: the action IAM checks (which is not always the API operation's name)
 * on each resource the call touches, the resource named as the stack names it (`table`, `eventQueue`,
 * `liveApi/POST/@connections` …) so a recorded call and a template statement can be compared.
 */

/** One permission: an IAM action (`dynamodb:GetItem`) on a named resource (`table`, `table/index/byLocation`). */
export interface Permission {
  action: string;
  resource: string;
}

/** The environment the handlers ran with: it says which queue or secret a URL or ARN is. */
export type HandlerEnvironment = Readonly<Record<string, string | undefined>>;

/** An SDK call: the client's `serviceId`, the operation (`GetItem`, never the document client's `Get`), the input. */
export interface SdkCall {
  service: string;
  operation: string;
  input: Record<string, unknown>;
}

/** What `send` is given: a client (its `config.serviceId`) and a command (a document client's wraps the low-level one). */
export interface SentCommand {
  client: { config?: { serviceId?: string }; constructor: { name: string } };
  command: {
    input?: unknown;
    clientCommand?: { input?: unknown; constructor: { name: string } };
    constructor: { name: string };
  };
}

/** The call a `send` makes on the wire: `GetCommand` of the document client is DynamoDB's `GetItem`. */
export function sdkCallOf({ client, command }: SentCommand): SdkCall {
  const sent = command.clientCommand ?? command;
  return {
    service: client.config?.serviceId ?? client.constructor.name,
    operation: sent.constructor.name.replace(/Command$/, ''),
    input: (sent.input ?? command.input ?? {}) as Record<string, unknown>,
  };
}

/** IAM's service prefix for the SDK's `serviceId`. */
const servicePrefixes: Readonly<Record<string, string>> = {
  DynamoDB: 'dynamodb',
  SQS: 'sqs',
  'Secrets Manager': 'secretsmanager',
  ApiGatewayManagementApi: 'execute-api',
};

/**
 * The connection management API of the live-updates WebSocket API (`@connections`): every operation is
 * `execute-api:ManageConnections`, authorized on the stage's `{method}/@connections/{connectionId}`. The service
 * has one such API, named `liveApi` here and in the role check, whatever endpoint the handlers were given.
 */
const connectionMethods: Readonly<Record<string, string>> = {
  PostToConnection: 'POST',
  GetConnection: 'GET',
  DeleteConnection: 'DELETE',
};

/** DynamoDB's transaction parts are authorized as the single-item actions they stand for; there is no TransactWriteItems action. */
const transactionPartActions: Readonly<Record<string, string>> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

/** SQS authorizes each batch operation as its single-message action. */
const sqsBatchActions: Readonly<Record<string, string>> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

/**
 * Every permission `call` needs. DynamoDB resources are the table or one of its indexes (the service has one table,
 * which tests name as they like); queues and secrets are told apart by the environment the handlers ran with
 * (`EVENT_QUEUE_URL`, `STRIPE_SECRET_KEY_ARN` …).
 */
export function permissionsOf(call: SdkCall, env: HandlerEnvironment): Permission[] {
  const prefix = servicePrefixes[call.service];
  if (prefix === undefined) return [{ action: `${call.service}:${call.operation}`, resource: '(unknown service)' }];
  if (prefix === 'dynamodb') return dynamoPermissions(call);
  if (prefix === 'execute-api') {
    const method = connectionMethods[call.operation];
    return [
      {
        action: 'execute-api:ManageConnections',
        resource: method === undefined ? `liveApi (${call.operation})` : `liveApi/${method}/@connections`,
      },
    ];
  }
  if (prefix === 'sqs') {
    const action = `sqs:${sqsBatchActions[call.operation] ?? call.operation}`;
    return [{ action, resource: queueName(String(call.input.QueueUrl ?? ''), env) }];
  }
  if (call.operation === 'BatchGetSecretValue') {
    const ids = (call.input.SecretIdList as string[] | undefined) ?? [];
    return ids.map((id) => ({ action: 'secretsmanager:GetSecretValue', resource: secretName(id, env) }));
  }
  return [{ action: `secretsmanager:${call.operation}`, resource: secretName(String(call.input.SecretId ?? ''), env) }];
}

function dynamoPermissions({ operation, input }: SdkCall): Permission[] {
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    const parts = (input.TransactItems as Record<string, unknown>[] | undefined) ?? [];
    return parts.flatMap((part) =>
      Object.keys(part).map((kind) => ({
        action: `dynamodb:${transactionPartActions[kind] ?? `${operation}.${kind}`}`,
        resource: 'table',
      })),
    );
  }
  const index = typeof input.IndexName === 'string' ? input.IndexName : undefined;
  return [{ action: `dynamodb:${operation}`, resource: index === undefined ? 'table' : `table/index/${index}` }];
}

/** The queue the handlers were configured with; by its name when a test changed the environment meanwhile. */
function queueName(url: string, env: HandlerEnvironment): string {
  if (url !== '' && url === env.EVENT_QUEUE_URL) return 'eventQueue';
  if (url !== '' && url === env.EVENT_DLQ_URL) return 'eventDeadLetterQueue';
  if (url === '') return 'queue (none)';
  return /dlq$/i.test(url) ? 'eventDeadLetterQueue' : 'eventQueue';
}

function secretName(id: string, env: HandlerEnvironment): string {
  if (id !== '' && id === env.STRIPE_SECRET_KEY_ARN) return 'stripeSecretKey';
  if (id !== '' && id === env.STRIPE_WEBHOOK_SECRET_ARN) return 'webhookSigningSecret';
  return `secret ${id}`;
}

/** `action on resource`, the form permissions are compared and reported in. */
export function permissionKey(permission: Permission): string {
  return `${permission.action} on ${permission.resource}`;
}

/**
 * One invocation of a handler in a fresh Node process, as a Lambda cold start runs it: the module is imported with
 * the process's environment (given by the parent), `handler` is called once with the event read from stdin, and the
 * result is written to stdout as one JSON line. Run: `node test/support/fresh-invocation.ts <handler module>`.
 */
import { randomUUID } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { pathToFileURL } from 'node:url';

const [modulePath] = process.argv.slice(2);
if (modulePath === undefined) throw new Error('usage: fresh-invocation.ts <handler module>');
const event = JSON.parse(await text(process.stdin)) as unknown;
const { handler } = (await import(pathToFileURL(modulePath).href)) as {
  handler: (event: unknown, context: unknown) => Promise<unknown>;
};
const startedAt = Date.now();
const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'fresh-invocation',
  functionVersion: '1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fresh-invocation:live',
  memoryLimitInMB: '1024',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/fresh-invocation',
  logStreamName: 'fresh',
  getRemainingTimeInMillis: () => Math.max(0, 29_000 - (Date.now() - startedAt)),
};
const result = await handler(event, context);
process.stdout.write(`${JSON.stringify(result)}\n`);
// The process ends when its sockets close (SDK keep-alive connections); the parent may end it sooner.

/**
 * Helpers for acknowledging cdk-nag findings (`Validations.of(...).acknowledge`) one by one, by the name cdk-nag gives
 * the finding.
 */
import type { Stack } from 'aws-cdk-lib';

/**
 * A resource as cdk-nag names it in a finding: `<LogicalId>` for a Ref, `<LogicalId.Attribute>` for a GetAtt,
 * `<Name>` for each `${Name}` of an Fn::Sub, the parts of an Fn::Join joined.
 */
export function nagResourceName(stack: Stack, value: unknown): string {
  const visit = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    const fn = node as {
      Ref?: string;
      'Fn::GetAtt'?: [string, string];
      'Fn::Join'?: [string, unknown[]];
      'Fn::Sub'?: string;
    };
    if (fn.Ref !== undefined) return `<${fn.Ref}>`;
    if (fn['Fn::GetAtt'] !== undefined) return `<${fn['Fn::GetAtt'][0]}.${fn['Fn::GetAtt'][1]}>`;
    if (fn['Fn::Join'] !== undefined) return fn['Fn::Join'][1].map(visit).join(fn['Fn::Join'][0]);
    if (fn['Fn::Sub'] !== undefined) return visit(fn['Fn::Sub']);
    return JSON.stringify(node);
  };
  return visit(stack.resolve(value));
}

/**
 * KIP-430: the operations a client may perform on a resource, reported by Metadata (topics, and the
 * cluster up to v10), DescribeCluster and DescribeGroups when the request asks for them. Kafka sends
 * them as a 32-bit field with bit n set for the AclOperation whose code is n, taken from the
 * operations that resource type supports (AclEntry.supportedOperations). Without an authorizer every
 * supported operation is allowed, which is what Sluice reports until ACLs exist; the authorizer will
 * filter this list per principal. When the request does not ask, the field keeps the schema's
 * default, Int.MinValue (OPERATIONS_NOT_REQUESTED).
 */

/** Kafka's AclOperation codes (org.apache.kafka.common.acl.AclOperation). */
export const AclOperationCode = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;
export type AclOperationName = keyof typeof AclOperationCode;

/** The schema default of every *AuthorizedOperations field: "not requested". */
export const OPERATIONS_NOT_REQUESTED = -2147483648;

/** AclEntry.supportedOperations, for the resource types these APIs describe. */
const SUPPORTED: Record<'TOPIC' | 'GROUP' | 'CLUSTER', readonly AclOperationName[]> = {
  TOPIC: ['READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
  GROUP: ['READ', 'DESCRIBE', 'DELETE', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
  CLUSTER: [
    'CREATE',
    'CLUSTER_ACTION',
    'DESCRIBE_CONFIGS',
    'ALTER_CONFIGS',
    'IDEMPOTENT_WRITE',
    'ALTER',
    'DESCRIBE',
  ],
};

/** Utils.to32BitField over the given operations. */
export function operationsBitField(ops: readonly AclOperationName[]): number {
  let bits = 0;
  for (const op of ops) bits |= 1 << AclOperationCode[op];
  return bits;
}

/** What a client may do on a resource of this type (every supported operation: no authorizer). */
export function authorizedOperations(resourceType: keyof typeof SUPPORTED): number {
  return operationsBitField(SUPPORTED[resourceType]);
}

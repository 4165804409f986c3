/**
 * The broker's own internal errors: what a Partition, the ReplicaManager or the request path refuses,
 * in its own terms. Which Kafka error code a client sees for each is decided in one place, the table
 * in error-mapping.ts. Every class takes `cause`.
 */

/** Base class of the broker's own errors. */
export abstract class BrokerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** This broker does not host the partition, or the topic does not exist. */
export class UnknownTopicOrPartitionError extends BrokerError {
  override readonly name = 'UnknownTopicOrPartitionError';
}

/** The request needs the leader (or a replica) and this broker is not it. */
export class NotLeaderOrFollowerError extends BrokerError {
  override readonly name = 'NotLeaderOrFollowerError';
}

/** KIP-320: the request's current leader epoch is older than this replica's. */
export class FencedLeaderEpochError extends BrokerError {
  override readonly name = 'FencedLeaderEpochError';
}

/** KIP-320: the request's current leader epoch is newer than this replica knows (its metadata lags). */
export class UnknownLeaderEpochError extends BrokerError {
  override readonly name = 'UnknownLeaderEpochError';
}

/** acks=all and the ISR is smaller than min.insync.replicas: refused before the append. */
export class NotEnoughReplicasError extends BrokerError {
  override readonly name = 'NotEnoughReplicasError';
}

/** An idempotent producer's batch does not follow its previous one (a gap, or not 0 in a new epoch). */
export class OutOfOrderSequenceError extends BrokerError {
  override readonly name = 'OutOfOrderSequenceError';
}

/** An idempotent producer wrote with an epoch older than one already seen: it has been fenced. */
export class InvalidProducerEpochError extends BrokerError {
  override readonly name = 'InvalidProducerEpochError';
}

/** The topic's configuration forbids the operation (DeleteRecords on a topic without cleanup.policy delete). */
export class PolicyViolationError extends BrokerError {
  override readonly name = 'PolicyViolationError';
}

/**
 * A transactional append the producer's state does not allow (Kafka's InvalidTxnStateException): a
 * plain batch while its transaction is open, or a transactional batch no coordinator verified.
 */
export class InvalidTxnStateError extends BrokerError {
  override readonly name = 'InvalidTxnStateError';
}

/** A transaction marker from a coordinator older than the one that wrote the producer's last marker. */
export class TransactionCoordinatorFencedError extends BrokerError {
  override readonly name = 'TransactionCoordinatorFencedError';
}

/** Transactional batches of more than one producer id in one Produce request (Kafka's InvalidPidMappingException). */
export class InvalidProducerIdMappingError extends BrokerError {
  override readonly name = 'InvalidProducerIdMappingError';
}

/**
 * A request that cannot be answered in the layout the client expects (unknown API key, unsupported
 * version, a body that does not decode): KafkaApis closes the connection, as Kafka does.
 */
export class InvalidRequestError extends BrokerError {
  override readonly name = 'InvalidRequestError';
}

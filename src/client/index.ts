/** The one Kafka client of the project: what the broker, the operator, the bench and the tests import. */
export {
  KafkaClient,
  type KafkaClientOptions,
  type ConnectionAuthenticator,
  type RequestBody,
  type RequestOptions,
} from './kafka-client.js';
export {
  KafkaConnection,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type KafkaConnectionOptions,
  type TlsOptions,
} from './kafka-connection.js';
export {
  BrokerApiVersions,
  decodeApiVersionsFrame,
  fetchApiVersions,
  pickVersion,
  type VersionRange,
  type VersionSpan,
} from './api-versions.js';
export { formatEndpoint, parseBootstrap, sameEndpoint, type Endpoint } from './endpoints.js';
export { backoffMs, retryPolicy, DEFAULT_RETRY, type RetryOptions, type RetryPolicy } from './retry.js';
export * from './errors.js';
export * as admin from './admin.js';
export { ADMIN_VERSIONS, type NewTopic } from './admin.js';

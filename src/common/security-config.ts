/**
 * The broker's security config keys (Kafka's names and defaults: BrokerSecurityConfigs, SslConfigs,
 * SaslConfigs), kept in their own block so they merge with the generated Kafka 4.4 key table: where
 * that table defines the same key, its definition wins and this list only adds what it lacks.
 *
 * Every key here may also be set per listener with Kafka's prefix, `listener.name.<listener in lower
 * case>.<key>` (and the SASL keys per mechanism too, `listener.name.<l>.<mechanism>.<key>`); those
 * prefixed keys are resolved by src/broker/security/listener-security.ts.
 *
 * Passwords, keys and JAAS configs are `password` typed and sensitive: DescribeConfigs never shows
 * them and they are never logged.
 */
import { atLeast, oneOf, type ConfigKey } from './config-def.js';

export const SECURITY_CONFIG_KEYS: readonly ConfigKey[] = [
  // ---- TLS (SslConfigs, BrokerSecurityConfigs) ----
  {
    name: 'ssl.keystore.type',
    type: 'string',
    default: 'JKS',
    doc: 'PEM or PKCS12 (JKS files are refused; a PKCS12 file works under the default JKS type, as in Java)',
  },
  { name: 'ssl.keystore.location', type: 'string', default: null, doc: 'the key and certificate chain file' },
  { name: 'ssl.keystore.password', type: 'password', default: null, doc: 'PKCS12 password', sensitive: true },
  {
    name: 'ssl.key.password',
    type: 'password',
    default: null,
    doc: 'password of an encrypted PEM key',
    sensitive: true,
  },
  {
    name: 'ssl.keystore.key',
    type: 'password',
    default: null,
    doc: 'the private key, inline PEM',
    sensitive: true,
  },
  {
    name: 'ssl.keystore.certificate.chain',
    type: 'password',
    default: null,
    doc: 'the certificate chain, inline PEM',
    sensitive: true,
  },
  {
    name: 'ssl.truststore.type',
    type: 'string',
    default: 'JKS',
    doc: 'PEM (a PEM file works under the default JKS type)',
  },
  { name: 'ssl.truststore.location', type: 'string', default: null, doc: 'trusted CA certificates (PEM)' },
  { name: 'ssl.truststore.password', type: 'password', default: null, doc: '', sensitive: true },
  {
    name: 'ssl.truststore.certificates',
    type: 'password',
    default: null,
    doc: 'trusted CA certificates, inline PEM',
    sensitive: true,
  },
  {
    name: 'ssl.client.auth',
    type: 'string',
    default: 'none',
    doc: 'none, requested or required (mTLS); SASL_SSL listeners read only the listener-prefixed key',
    validate: oneOf('none', 'requested', 'required'),
  },
  {
    name: 'ssl.protocol',
    type: 'string',
    default: 'TLSv1.3',
    doc: 'the highest TLS version (TLS, TLSv1.2, TLSv1.3)',
  },
  { name: 'ssl.enabled.protocols', type: 'list', default: 'TLSv1.2,TLSv1.3', doc: '' },
  {
    name: 'ssl.cipher.suites',
    type: 'list',
    default: '',
    doc: 'IANA (Java) cipher suite names; empty: the defaults',
  },
  {
    name: 'ssl.endpoint.identification.algorithm',
    type: 'string',
    default: 'https',
    doc: "'https' checks the host name of brokers this broker connects to; empty turns it off",
  },
  {
    name: 'ssl.principal.mapping.rules',
    type: 'string',
    default: 'DEFAULT',
    doc: 'client certificate DN → principal name',
  },
  {
    name: 'ssl.allow.dn.changes',
    type: 'boolean',
    default: 'false',
    doc: 'accept a reloaded keystore whose certificate has another subject DN',
  },
  {
    name: 'ssl.allow.san.changes',
    type: 'boolean',
    default: 'false',
    doc: 'accept a reloaded keystore whose certificate has other subject alternative names',
  },
  // ---- SASL (BrokerSecurityConfigs, SaslConfigs) ----
  {
    name: 'sasl.enabled.mechanisms',
    type: 'list',
    default: 'GSSAPI',
    doc: 'PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (GSSAPI/Kerberos is not supported)',
  },
  { name: 'sasl.mechanism.inter.broker.protocol', type: 'string', default: 'GSSAPI', doc: '' },
  {
    name: 'sasl.jaas.config',
    type: 'password',
    default: null,
    doc: 'JAAS login module config; brokers read listener.name.<l>.<mechanism>.sasl.jaas.config',
    sensitive: true,
  },
  { name: 'sasl.server.callback.handler.class', type: 'string', default: null, doc: '' },
  {
    name: 'sasl.server.max.receive.size',
    type: 'int',
    default: '524288',
    doc: 'largest frame before authentication',
  },
  {
    name: 'connections.max.reauth.ms',
    type: 'long',
    default: '0',
    doc: 'KIP-368 session lifetime; 0 = sessions do not expire',
    validate: atLeast(0),
  },
  {
    name: 'connection.failed.authentication.delay.ms',
    type: 'int',
    default: '100',
    doc: 'how long a failed authentication waits before its answer and the close',
    validate: atLeast(0),
    readOnly: true,
  },
  {
    name: 'sasl.oauthbearer.jwks.endpoint.url',
    type: 'string',
    default: null,
    doc: 'file:, http: or https:',
  },
  { name: 'sasl.oauthbearer.jwks.endpoint.refresh.ms', type: 'long', default: '3600000', doc: '' },
  { name: 'sasl.oauthbearer.expected.audience', type: 'list', default: '', doc: '' },
  { name: 'sasl.oauthbearer.expected.issuer', type: 'string', default: null, doc: '' },
  { name: 'sasl.oauthbearer.sub.claim.name', type: 'string', default: 'sub', doc: '' },
  { name: 'sasl.oauthbearer.scope.claim.name', type: 'string', default: 'scope', doc: '' },
  { name: 'sasl.oauthbearer.clock.skew.seconds', type: 'int', default: '30', doc: '' },
  // ---- Sluice: the control plane (gRPC) between brokers ----
  {
    name: 'sluice.control.plane.secret',
    type: 'password',
    default: null,
    doc: 'a secret every control-plane (gRPC) call must carry; mTLS is used instead when the inter-broker listener speaks TLS',
    sensitive: true,
    readOnly: true,
  },
];

export { openssl } from './openssl/library';
export { SessionCacheMode } from './binding/constants';
export type { Protocol, TlsProtocol } from './binding/constants';
export type { UnknownProtocol } from './binding/protocol_version';
export { OpenSSLError } from './common/openssl_error';
export type { OpenSSLErrorEntry } from './common/openssl_error';
export { ErrorCode } from './common/coded_error';
export type { ErrorCodeValue } from './common/coded_error';
export type { EventListener } from './common/typed_events';
export { SslContext } from './openssl/ssl_context';
export type { SslContextOptions, SslContextStats, SslContextRole, GetSessionCallback, RemoveReason, SslContextEvents } from './openssl/ssl_context';
export { SslSession } from './openssl/ssl_session';
export type { SslSessionCreateOptions } from './openssl/ssl_session';
export { raw } from './openssl/raw';
export { handshake } from './openssl/handshake';
export type { HandshakeOptions, HandshakeResult } from './openssl/handshake';
export { generateSelfSigned } from './openssl/self_signed';
export type { AltName, SelfSignedOptions } from './openssl/self_signed';
export { TLSSocket } from './tls/tls_socket';
export type { TLSSocketEvents } from './tls/tls_socket';
export type { PeerCertificate, CheckServerIdentity } from './tls/peer_certificate';
export type { SessionOnUncleanClose, TLSSocketSetup } from './tls/socket_options';
export { TlsServer, createServer } from './tls/tls_server';
export type { TlsServerOptions, TlsServerEvents } from './tls/tls_server';
export { NativeTlsSocket } from './tls/native_connection_path';
export type { ConnectionPath } from './tls/native_connection_path';
export { NativeTcpSocket } from './tls/native_net';
export { defaultSessionIdContext } from './tls/session_id_context';
export type { SessionIdContextPolicy } from './tls/session_id_context';
export { connect } from './tls/tls_connect';
export type { TlsConnectOptions } from './tls/tls_connect';
export type { SessionStore } from './stores/session_store';
export { MemorySessionStore } from './stores/memory_session_store';
export type { MemorySessionStoreOptions } from './stores/memory_session_store';
export { RedisSessionStore } from './stores/redis_session_store';
export type { RedisSessionStoreOptions, RedisSessionStoreClusterOptions, RedisSessionStoreEvents, RedisSessionStoreStats } from './stores/redis_session_store';
export type { SessionSealingKey, SessionSealingKeys } from './stores/sealing';
export { ClientHelloParser } from './tls/client_hello_parser';
export type { ClientHelloInfo } from './tls/client_hello_parser';
export { setOpenSSLClock } from './openssl/openssl_clock';
export { createHttpsServer, createHttp2SecureServer } from './tls/https';
export type { HttpsServer, Http2SecureServer, Http2SecureServerOptions } from './tls/https';
export type { SNICallback } from './tls/tls_server';
export { ClusterSessionStore, ClusterSessionStorePrimary } from './stores/cluster_session_store';
export type { ClusterSessionStoreOptions, ClusterSessionStorePrimaryOptions } from './stores/cluster_session_store';
export { CHANNELS } from './common/diagnostics';
export type {
  HandshakeMessage,
  LookupMessage,
  LookupResult,
  SessionStoredMessage,
  SessionRevokedMessage,
  SessionRemovedMessage,
  RemovalReason,
  TicketMessage,
  TicketKeyResult,
  ResumptionMissedMessage,
  ResumptionMissReason,
  ResumptionMechanism,
  OfferedSession,
  StoreConnectionMessage,
  StoreConnectionState,
} from './common/diagnostics';
export { observeMetrics, registerMetrics, registerContextMetrics, ServerMetrics, DURATION_BUCKETS } from './tls/metrics';
export type { MetricsSnapshot, DurationSummary, RegisterMetricsOptions } from './tls/metrics';
export { TicketKeyRing, sealTicketKey, openTicketKey } from './tls/ticket_key_ring';
export type { TicketKeyRingOptions, TicketKeyRingState, TicketKeyRingKey, TicketKeyRingEvents } from './tls/ticket_key_ring';
export { MemoryTicketKeySource } from './stores/ticket_key_source';
export type { TicketKeySource } from './stores/ticket_key_source';
export { ClusterTicketKeySource, ClusterTicketKeySourcePrimary } from './stores/cluster_ticket_key_source';
export type { ClusterTicketKeySourceOptions } from './stores/cluster_ticket_key_source';
export { RedisTicketKeySource } from './stores/redis_ticket_key_source';
export type { RedisTicketKeySourceOptions } from './stores/redis_ticket_key_source';

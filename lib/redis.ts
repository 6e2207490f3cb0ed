// Entry point `openssl-session-cache/redis`: the Redis session store. It needs the optional
// peer dependency ioredis (`npm install ioredis`), which is loaded when a store is made.
export { RedisSessionStore } from './stores/redis_session_store';
export type { RedisSessionStoreOptions, RedisSessionStoreClusterOptions, RedisSessionStoreEvents, RedisSessionStoreStats } from './stores/redis_session_store';
export type { SessionSealingKey, SessionSealingKeys } from './stores/sealing';
export { RedisTicketKeySource } from './stores/redis_ticket_key_source';
export type { RedisTicketKeySourceOptions } from './stores/redis_ticket_key_source';

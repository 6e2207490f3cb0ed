// NODE_DEBUG=openssl-session-cache: handshake, SNI, ALPN and store decisions on stderr
// (util.debuglog, the way node:tls logs under NODE_DEBUG=tls).
import { debuglog } from 'util';

export const debug = debuglog('openssl-session-cache');

#!/usr/bin/env python3
"""A session cache in Python, tested by the conformance runner through the shim protocol.

    node dist/cli.js conformance --shim "python3 examples/shim/map_cache.py"

One JSON request per line on stdin, one JSON answer per line on stdout (docs/conformance.md,
"Shims"). The cache is a dict keyed by protocol and id plus an insertion-ordered dict as the
LRU list; it chooses random ids and keeps no cacheFull counter. Those differences from
OpenSSL are declared in the hello answer; everything else must match OpenSSL 1.0.2h.
"""
import json
import os
import sys

VERSIONS = {"SSLv3": 0x300, "TLSv1": 0x301, "TLSv1.1": 0x302, "TLSv1.2": 0x303,
            "DTLSv1": 0xFEFF, "DTLSv1.2": 0xFEFD, "DTLSv0.9": 0x100}
HANDSHAKE_PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2")
CLIENT, SERVER = 0x1, 0x2
NO_AUTO_CLEAR, NO_INTERNAL_LOOKUP, NO_INTERNAL_STORE = 0x80, 0x100, 0x200
DEFAULT_ID_CONTEXT = b"openssl-session-cache"


class CacheError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def hexbytes(v):
    return bytes.fromhex(v["hex"])


def check_id(i, low=0):
    if not low <= len(i) <= 32:
        raise CacheError("RangeError", "id must be %d-32 bytes" % low)


class Session:
    def __init__(self, handle, protocol, sid, time, timeout, ctx):
        self.handle, self.protocol, self.id = handle, protocol, sid
        self.time, self.timeout, self.ctx = time, timeout, ctx
        self.dead, self.refs, self.mine, self.cached = False, 1, 0, False


class Cache:
    def __init__(self, o):
        self.mode = o.get("mode", SERVER)
        self.size = o.get("cacheSize", 20480)
        self.timeout = o.get("timeout", 300)
        self.role = o.get("role", "server")
        self.ctx = hexbytes(o["idContext"]) if "idContext" in o else DEFAULT_ID_CONTEXT
        self.verify = o.get("verifyPeer", False)
        if len(self.ctx) > 32:
            raise CacheError("RangeError", "idContext must be 0-32 bytes")
        if self.verify and self.role == "client":
            raise CacheError("RangeError", "verifyPeer is a server setting")
        self.by_key, self.lru, self.all, self.events, self.next = {}, {}, {}, [], 1
        self.n = dict(connect=0, connectGood=0, connectRenegotiate=0, accept=0, acceptGood=0,
                      acceptRenegotiate=0, hits=0, cbHits=0, misses=0, timeouts=0)

    # ---- sessions
    def make(self, protocol, sid, time, timeout, ctx):
        s = Session(self.next, protocol, sid, time, timeout, ctx)
        self.next += 1
        self.all[s.handle] = s
        return s

    def held(self, h):
        s = self.all.get(h)
        if s is None:
            raise CacheError("ERR_INVALID_HANDLE", "no session %r" % (h,))
        if s.mine == 0:
            raise CacheError("ERR_SSL_FREED", "session %d is not held" % h)
        return s

    def give(self, s):
        s.refs += 1
        s.mine += 1
        return s.handle

    def createSession(self, o):
        protocol = o.get("protocol", "TLSv1.2")
        if protocol not in VERSIONS:
            raise CacheError("RangeError", "unknown protocol %s" % protocol)
        sid = hexbytes(o["id"])
        check_id(sid)
        ctx = hexbytes(o["idContext"]) if "idContext" in o else self.ctx
        if len(ctx) > 32:
            raise CacheError("RangeError", "idContext must be 0-32 bytes")
        s = self.make(protocol, sid, o["time"], o["timeout"], ctx)
        s.mine = 1
        return s.handle

    def freeSession(self, h):
        s = self.held(h)
        s.mine -= 1
        s.refs -= 1

    def references(self, h):
        return self.held(h).refs

    def resumable(self, h):
        return not self.held(h).dead

    def getSessionId(self, h):
        return {"hex": self.held(h).id.hex()}

    def getSessionProtocol(self, h):
        return self.held(h).protocol

    def getSessionTime(self, h):
        return self.held(h).time

    def setSessionTime(self, h, t):
        self.held(h).time = t

    def getSessionTimeout(self, h):
        return self.held(h).timeout

    def setSessionTimeout(self, h, t):
        self.held(h).timeout = t

    # ---- the cache
    @staticmethod
    def key(protocol, sid):
        return (VERSIONS[protocol], sid)

    def store(self, s):
        k = self.key(s.protocol, s.id)
        old = self.by_key.get(k)
        if old is s:
            return 0
        if old is not None:  # the same key under another object: replaced quietly
            self.unlink(old)
            old.refs -= 1
        s.refs += 1
        s.cached = True
        self.by_key[k] = s
        self.lru[k] = s
        while self.size > 0 and len(self.by_key) > self.size:
            self.drop(next(iter(self.lru.values())))
        return 1

    def unlink(self, s):
        k = self.key(s.protocol, s.id)
        del self.by_key[k]
        del self.lru[k]
        s.cached = False

    def drop(self, s):
        self.unlink(s)
        s.dead = True
        s.refs += 1  # the remove event's reference
        self.events.append(("remove", s))
        s.refs -= 1  # the cache's

    def add(self, h):
        s = self.held(h)
        if not s.id:
            raise CacheError("ERR_SESSION_ID_EMPTY", "empty id")
        return self.store(s)

    def remove(self, h):
        s = self.held(h)
        if s.id and self.by_key.get(self.key(s.protocol, s.id)) is s:
            self.drop(s)
            return 1
        return 0

    def flush(self, t):
        for s in list(self.lru.values()):
            if t == 0 or t > s.time + s.timeout:
                self.drop(s)

    def get(self, sid, protocol="TLSv1.2"):
        if protocol not in VERSIONS:
            raise CacheError("RangeError", "unknown protocol %s" % protocol)
        sid = hexbytes(sid)
        check_id(sid)
        s = self.by_key.get(self.key(protocol, sid))
        return None if s is None else self.give(s)

    def sessions(self):
        return [self.give(s) for s in reversed(list(self.lru.values()))]

    def count(self):
        return len(self.by_key)

    def setCacheSize(self, v):
        old, self.size = self.size, v
        return old

    def getCacheSize(self):
        return self.size

    def setTimeout(self, v):
        old, self.timeout = self.timeout, v
        return old

    def getTimeout(self):
        return self.timeout

    def setCacheMode(self, v):
        old, self.mode = self.mode, v
        return old

    def getCacheMode(self):
        return self.mode

    def stats(self):
        return dict(number=len(self.by_key), cacheFull=0, **self.n)

    def takeEvents(self):
        out = []
        for kind, s in self.events:
            s.mine += 1
            out.append({"type": kind, "session": s.handle})
        self.events = []
        return out

    # ---- handshakes
    def handshake(self, o):
        now = o["now"]
        wanted = hexbytes(o["id"]) if "id" in o else None
        if wanted is not None:
            check_id(wanted, 1)
        offered = self.held(o["offered"]) if "offered" in o else None
        callback = False  # no callback installed
        if "callback" in o:
            if self.role == "client":
                raise CacheError("RangeError", "a get callback is a server setting")
            callback = None if o["callback"] is None else self.held(o["callback"])
            if callback is not None and callback is not offered:
                raise CacheError("RangeError", "the callback must return the offered session")
        protocol = offered.protocol if offered else "TLSv1.2"
        if protocol not in HANDSHAKE_PROTOCOLS:
            raise CacheError("RangeError", "cannot negotiate %s" % protocol)
        sent = offered.id if offered is not None and not offered.dead else b""
        if self.role == "client":
            return self.connect(now, wanted, offered, protocol, sent)
        return self.accept(now, wanted, offered, protocol, sent, callback)

    def expired(self, s, now):
        return s.timeout < now - s.time

    def connect(self, now, wanted, offered, protocol, sent):
        self.n["connect"] += 1
        sid = wanted if wanted is not None else os.urandom(32)
        if sent and sid == sent:
            raise CacheError("ERR_HANDSHAKE_FAILED", "the peer echoed the offered id")
        timeout = self.timeout or (300 if offered is None else 7200)
        s = self.make(protocol, sid, now, timeout, self.ctx)
        self.finish(s, False, CLIENT, now)
        self.n["connectGood"] += 1
        s.mine += 1
        return {"resumed": False, "session": s.handle}

    def accept(self, now, wanted, offered, protocol, sent, callback):
        if offered is not None and sent and not self.mode & NO_INTERNAL_LOOKUP:
            cached = self.by_key.get(self.key(protocol, sent))
            if cached is not None and cached is not offered and cached.ctx == self.ctx and not self.expired(cached, now):
                raise CacheError("RangeError", "another object holds the offered key")
        self.n["accept"] += 1
        found = None
        if sent:
            if not self.mode & NO_INTERNAL_LOOKUP:
                found = self.by_key.get(self.key(protocol, sent))
                if found is None:
                    self.n["misses"] += 1
            if found is None and callback:
                found = callback
                self.n["cbHits"] += 1
                if not self.mode & NO_INTERNAL_STORE:
                    self.store(found)
            if found is not None and found.ctx != self.ctx:
                found = None
            elif found is not None and self.verify and not self.ctx:
                raise CacheError("ERR_HANDSHAKE_FAILED", "a verifying server needs a session id context")
            elif found is not None and self.expired(found, now):
                self.n["timeouts"] += 1
                if self.by_key.get(self.key(found.protocol, found.id)) is found:
                    self.drop(found)
                found = None
        if found is not None:
            self.n["hits"] += 1
            self.finish(found, True, SERVER, now)
            self.n["acceptGood"] += 1
            return {"resumed": True, "session": self.give(found)}
        sid = wanted if wanted is not None else os.urandom(32)
        if self.key(protocol, sid) in self.by_key:
            raise CacheError("ERR_SESSION_ID_CONFLICT", "id already cached")
        given = sid if self.mode & SERVER else b""
        if sent and given == sent:
            raise CacheError("ERR_HANDSHAKE_FAILED", "the offered id sent back")
        s = self.make(protocol, given, now, self.timeout or 7200, self.ctx)
        self.finish(s, False, SERVER, now)
        self.n["acceptGood"] += 1
        s.mine += 1
        return {"resumed": False, "session": s.handle}

    def finish(self, s, resumed, end, now):
        if not s.id:
            return
        if self.mode & end and not resumed and (self.mode & NO_INTERNAL_STORE or self.store(s) == 1):
            s.refs += 1
            self.events.append(("new", s))
        if not self.mode & NO_AUTO_CLEAR and self.mode & end == end:
            good = self.n["connectGood"] if end == CLIENT else self.n["acceptGood"]
            if good & 0xFF == 0xFF:
                self.flush(now)


HELLO = {
    "name": "map_cache.py",
    "declaredDifferences": {
        "removeOrder": "flush walks the LRU list (oldest first), not OpenSSL hash buckets",
        "stats": {"cacheFull": "not kept"},
    },
}


def serve():
    caches, next_cache = {}, 1
    for line in sys.stdin:
        request = json.loads(line)
        reply = {"id": request.get("id")}
        try:
            method = request["method"]
            if method == "hello":
                reply["result"] = HELLO
            elif method == "new":
                caches[next_cache] = Cache(request.get("options", {}))
                reply["result"] = next_cache
                next_cache += 1
            elif method == "dispose":
                caches.pop(request["cache"], None)
                reply["result"] = None
            else:
                cache = caches[request["cache"]]
                reply["result"] = getattr(cache, method)(*request.get("args", []))
        except CacheError as e:
            reply["error"] = {"code": e.code, "message": str(e)}
        except Exception as e:  # a bug in the shim: reported, and the shim keeps serving
            reply["error"] = {"code": "ShimError", "message": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()

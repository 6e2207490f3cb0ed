// A connection's plaintext over an AF_UNIX socketpair (pipe(id), lib/tls/native_pipe.ts).
//
// node:http2 (and node:http) consume a socket whose handle is a native stream in C++; a JS
// Duplex (NativeTlsSocket) they wrap in a JS stream instead, where every read and write
// crosses between JS and C++ and a write completes a loop turn later. For such a consumer
// pipe(id) makes a socketpair: this side keeps one end (a uv_pipe_t on the listener's loop),
// JS opens the other as a net.Socket (a Pipe handle). From then on the listener pumps:
//  - SSL_read's plaintext is written to the pipe (instead of kData); a pipe whose queue is
//    over kPipeQueueLimit stops the TCP reads until it is written out;
//  - what the pipe reads is SSL_write and sent on TCP (as write(id)); a TCP send queue over
//    kSendLimit stops the pipe reads until the sends drain below it;
//  - except the JS end's first bytes while it has not read all the plaintext written to it
//    (Linux: SIOCOUTQ of this end): node:http2 writes a session's SETTINGS when the session
//    starts, before it reads the client's preface and first request from the pipe, and
//    answers them in the same loop turn; the SETTINGS wait for the flush point, where that
//    answer is read and sent with them: one send, as node:http2 over node:tls makes, not two
//    (the client's first response no longer comes a wake-up later);
//  - the pipe's EOF (or a read error: the JS end is gone) ends the TLS connection
//    (close_notify, then FIN: End);
//  - the peer's close_notify or FIN shuts the pipe's write side (instead of kEnd);
//  - the connection's close closes the pipe end (JS reads what was written, then EOF, or
//    ECONNRESET when this end had unread bytes, as the TCP peer's reset would be).
// The connection stays JS's NativeTlsSocket otherwise (queries, kClose, destroy()).
#include <openssl/bio.h>

#include <cstdlib>
#include <cstring>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#endif
#ifdef __linux__
#include <linux/sockios.h>  // SIOCOUTQ
#endif

#include "native_listener.h"
#include "native_listener_conn.h"
#include "openssl_error.h"
#include "openssl_pointers.h"

namespace {
constexpr size_t kPipeQueueLimit = 256 * 1024;  // plaintext queued for JS before TCP reads stop
constexpr size_t kSendLimit = 256 * 1024;        // ciphertext queued on TCP before pipe reads stop
constexpr size_t kPipeReadSize = 64 * 1024;

struct PipeWrite {
  uv_write_t req;
  char data[1];
};
}  // namespace

struct PlainPipe {
  uv_pipe_t handle;  // first: the handle's address is the PlainPipe's
  NativeListener::Conn* conn = nullptr;  // null once the connection closed
  bool reading = false;   // pipe reads started
  bool heldTcp = false;   // the TCP reads were stopped for this pipe's queue
  bool shut = false;      // the write side is shut (or broken): nothing more is written
  bool held = false;      // what the JS end wrote waits for the flush point (heldPipes_)
  bool firstOutput = true;  // nothing read from the JS end yet (HoldForReply)
  char buffer[kPipeReadSize];
};

namespace {
void OnPipeClosed(uv_handle_t* handle) { delete reinterpret_cast<PlainPipe*>(handle); }

void OnPipeAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  PlainPipe* p = reinterpret_cast<PlainPipe*>(handle);
  *buf = uv_buf_init(p->buffer, static_cast<unsigned int>(kPipeReadSize));
}
}  // namespace

// pipe(id) -> the fd of the JS end (a connected AF_UNIX stream socket, non-blocking,
// close-on-exec; JS owns it), or -1: the connection is gone, not secure, ending, already
// piped, or the platform has no socketpair
Napi::Value NativeListener::JS_pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info);
  if (c == nullptr) return env.IsExceptionPending() ? env.Undefined() : Napi::Number::New(env, -1);
  if (!c->secure || c->ending || c->peerEnded || c->pipe != nullptr) return Napi::Number::New(env, -1);
#ifdef _WIN32
  return Napi::Number::New(env, -1);
#else
  int fds[2];
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return Napi::Number::New(env, -1);
#else
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return Napi::Number::New(env, -1);
  for (int fd : fds) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
#endif
  PlainPipe* p = new PlainPipe();
  if (uv_pipe_init(loop_, &p->handle, 0) != 0) {
    delete p;
    close(fds[0]);
    close(fds[1]);
    return Napi::Number::New(env, -1);
  }
  p->handle.data = p;
  if (uv_pipe_open(&p->handle, fds[0]) != 0) {
    close(fds[0]);
    close(fds[1]);
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), OnPipeClosed);
    return Napi::Number::New(env, -1);
  }
  p->conn = c;
  c->pipe = p;
  p->reading = true;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&p->handle), OnPipeAlloc, OnPipeRead);
  return Napi::Number::New(env, fds[1]);
#endif
}

// the JS end's bytes: SSL_write and sent; its EOF ends the connection
void NativeListener::OnPipeRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  PlainPipe* p = reinterpret_cast<PlainPipe*>(stream);
  Conn* c = p->conn;
  if (c == nullptr || c->closing || c->owner == nullptr || nread == 0) return;
  NativeListener* self = c->owner;
  Napi::HandleScope scope(self->env_);
  ErrorQueueGuard guard;
  if (nread < 0) {
    // the JS end ended or is gone: the TLS connection ends cleanly (its session is kept)
    uv_read_stop(stream);
    p->reading = false;
    self->End(c);
    return;
  }
  if (!c->secure || c->ending) return;  // nothing is written after close_notify
  if (!self->Encrypt(c, buf->base, static_cast<size_t>(nread))) return;
  if (!self->HoldForReply(c)) self->SendFromPipe(c);
}

void NativeListener::SendFromPipe(Conn* c) {
  if (!Flush(c)) return;
  PlainPipe* p = c->pipe;
  if (c->tcp.write_queue_size > kSendLimit && p->reading) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&p->handle));
    p->reading = false;
  }
}

bool NativeListener::HoldForReply(Conn* c) {
#if defined(__linux__) && defined(SIOCOUTQ)
  PlainPipe* p = c->pipe;
  if (p->held) return true;
  if (!p->firstOutput) return false;
  p->firstOutput = false;
  uv_os_fd_t fd;
  int unread = 0;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&p->handle), &fd) != 0 || ioctl(fd, SIOCOUTQ, &unread) != 0 || unread <= 0) return false;
  if (!ArmFlushPoint()) return false;
  p->held = true;
  heldPipes_.push_back(c->id);
  return true;
#else
  (void)c;
  return false;
#endif
}

void NativeListener::SendHeld(Conn* c) {
  PlainPipe* p = c->pipe;
  if (p == nullptr || !p->held) return;
  p->held = false;
#ifndef _WIN32
  // what the JS end wrote since: read here rather than at the next poll, to leave in this send
  // (an end of stream or an error stays for the pipe's own read, which sees it again)
  uv_os_fd_t fd;
  if (p->reading && !c->closing && c->secure && !c->ending && uv_fileno(reinterpret_cast<uv_handle_t*>(&p->handle), &fd) == 0) {
    for (;;) {
      ssize_t n = read(fd, p->buffer, kPipeReadSize);
      if (n <= 0) break;
      if (!Encrypt(c, p->buffer, static_cast<size_t>(n))) return;
      if (static_cast<size_t>(n) < kPipeReadSize) break;
    }
  }
#endif
  SendFromPipe(c);
}

void NativeListener::Plaintext(Conn* c, const char* data, size_t length) {
  PlainPipe* p = c->pipe;
  if (p == nullptr) {
    Napi::Buffer<char> b = Napi::Buffer<char>::Copy(env_, data, length);
    Emit({Napi::Number::New(env_, kData), Napi::Number::New(env_, c->id), b});
    return;
  }
  if (p->shut || length == 0) return;
  uv_stream_t* s = reinterpret_cast<uv_stream_t*>(&p->handle);
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned int>(length));
  int done = uv_try_write(s, &b, 1);
  if (done == static_cast<int>(length)) return;
  if (done < 0 && done != UV_EAGAIN) {
    // the JS end is gone: its read side reports it (EOF or error), which ends the connection
    p->shut = true;
    return;
  }
  if (done < 0) done = 0;
  size_t rest = length - static_cast<size_t>(done);
  PipeWrite* w = static_cast<PipeWrite*>(malloc(sizeof(PipeWrite) + rest));
  if (w == nullptr) {
    Destroy(c, env_.Undefined());
    return;
  }
  memcpy(w->data, data + done, rest);
  w->req.data = p;
  b = uv_buf_init(w->data, static_cast<unsigned int>(rest));
  int r = uv_write(&w->req, s, &b, 1, [](uv_write_t* req, int status) {
    PlainPipe* p = static_cast<PlainPipe*>(req->data);
    free(reinterpret_cast<PipeWrite*>(req));
    Conn* c = p->conn;
    if (c == nullptr || c->closing || c->owner == nullptr) return;
    if (status < 0) {
      p->shut = true;
      return;
    }
    // the queue is written out: the TCP reads this pipe stopped go on
    if (p->heldTcp && p->handle.write_queue_size == 0) {
      p->heldTcp = false;
      Napi::HandleScope scope(c->owner->env_);
      c->owner->ReadStart(c);
    }
  });
  if (r != 0) {
    free(w);
    p->shut = true;
    return;
  }
  if (p->handle.write_queue_size > kPipeQueueLimit && c->reading) {
    c->reading = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    p->heldTcp = true;
  }
}

void NativeListener::PeerEnded(Conn* c) {
  PlainPipe* p = c->pipe;
  if (p == nullptr) {
    Emit({Napi::Number::New(env_, kEnd), Napi::Number::New(env_, c->id)});
    return;
  }
  if (p->shut) return;
  p->shut = true;
  uv_shutdown_t* req = static_cast<uv_shutdown_t*>(malloc(sizeof(uv_shutdown_t)));
  if (req == nullptr) return;
  if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&p->handle), [](uv_shutdown_t* r, int) { free(r); }) != 0) free(req);
}

void NativeListener::ClosePipe(Conn* c) {
  PlainPipe* p = c->pipe;
  if (p == nullptr) return;
  c->pipe = nullptr;
  p->conn = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), OnPipeClosed);
}

void NativeListener::PipeSent(Conn* c) {
  PlainPipe* p = c->pipe;
  if (p->reading || c->tcp.write_queue_size > kSendLimit || c->ending) return;
  p->reading = true;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&p->handle), OnPipeAlloc, OnPipeRead);
}

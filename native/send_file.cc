// wirekit zero-copy file send: the static server's large-body path, as nginx's `sendfile on`.
// The HTTP/1.1 engine calls it only when Node's write queue for the socket is empty, so bytes
// leave in order: first what is left of the response head (send with MSG_MORE, so head and
// body share segments), then the file range by sendfile(2), which copies from the page cache
// to the socket inside the kernel. The socket is non-blocking (libuv made it so): the call
// never waits. It returns how many bytes went out; on EAGAIN the engine waits for writability
// (a write through Node's own queue, then 'drain') and calls again with what remains.
//
// JS surface:
//   sendHeadAndFile(socketFd, head: Buffer | null, fileFd, offset, length) -> number
//     bytes written in all (head first, then file); fewer than asked means the socket is full
//     (or the file ended early: the engine checks). Throws with .code on other errors.

#include "socket_common.h"

#include <sys/sendfile.h>
#include <sys/socket.h>

namespace {

Napi::Value SendHeadAndFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber()) {
    wirekit::CodedError(env, "EINVAL", "sendHeadAndFile(socketFd, head, fileFd, offset, length)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int sock = info[0].As<Napi::Number>().Int32Value();
  const int file = info[2].As<Napi::Number>().Int32Value();
  off_t offset = static_cast<off_t>(info[3].As<Napi::Number>().Int64Value());
  int64_t remaining = info[4].As<Napi::Number>().Int64Value();
  double written = 0;

  if (info[1].IsBuffer()) {
    Napi::Buffer<uint8_t> head = info[1].As<Napi::Buffer<uint8_t>>();
    size_t done = 0;
    while (done < head.Length()) {
      ssize_t n = send(sock, head.Data() + done, head.Length() - done, MSG_NOSIGNAL | (remaining > 0 ? MSG_MORE : 0));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, static_cast<double>(done));
        wirekit::ErrnoError(env, errno, "send").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      done += static_cast<size_t>(n);
    }
    written += static_cast<double>(done);
  }

  while (remaining > 0) {
    const size_t chunk = static_cast<size_t>(remaining > (1 << 30) ? (1 << 30) : remaining);
    ssize_t n = sendfile(sock, file, &offset, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      wirekit::ErrnoError(env, errno, "sendfile").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (n == 0) break;  // the file is shorter than announced: the caller closes the connection
    written += static_cast<double>(n);
    remaining -= n;
  }
  return Napi::Number::New(env, written);
}

}  // namespace

// Called from icmp_socket.cc's module Init.
Napi::Function InitSendHeadAndFile(Napi::Env env) { return Napi::Function::New(env, SendHeadAndFile, "sendHeadAndFile"); }

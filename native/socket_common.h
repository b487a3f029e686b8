// What the addon's two socket classes (icmp_socket.cc, udp_socket.cc) share: errors with a
// `.code`, address text <-> sockaddr, the bound address, and the libuv poll handle's life; and
// (for hmac_sha256.cc and metrics_text.cc) a typed array's data.
#pragma once

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace wirekit {

// An Error whose `.code` is the errno name (EADDRINUSE, EMSGSIZE, ...) and `.errno` the number.
inline Napi::Error ErrnoError(Napi::Env env, int err, const std::string& what) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

inline Napi::Error CodedError(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

inline std::string AddressString(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  else if (ss.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  return buf;
}

inline int PortOf(const sockaddr_storage& ss) {
  return ss.ss_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port)
                                 : ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
}

// `text` as a sockaddr of `family` (AF_INET or AF_INET6). With mapV4, an IPv4 address given to an
// IPv6 socket becomes ::ffff:a.b.c.d (a dual-stack socket's IPv4 peer). Throws EINVAL otherwise.
inline bool ParseSockaddr(Napi::Env env, int family, const std::string& text, int port, bool mapV4, sockaddr_storage* out,
                          socklen_t* len) {
  memset(out, 0, sizeof *out);
  if (family == AF_INET) {
    if (uv_ip4_addr(text.c_str(), port, reinterpret_cast<sockaddr_in*>(out)) == 0) {
      *len = sizeof(sockaddr_in);
      return true;
    }
  } else {
    if (uv_ip6_addr(text.c_str(), port, reinterpret_cast<sockaddr_in6*>(out)) == 0) {
      *len = sizeof(sockaddr_in6);
      return true;
    }
    sockaddr_in v4;
    if (mapV4 && uv_ip4_addr(text.c_str(), port, &v4) == 0) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(out);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = v4.sin_port;
      s6->sin6_addr.s6_addr[10] = 0xff;
      s6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&s6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
      *len = sizeof(sockaddr_in6);
      return true;
    }
  }
  CodedError(env, "EINVAL", "invalid IPv" + std::to_string(family == AF_INET ? 4 : 6) + " address '" + text + "'")
      .ThrowAsJavaScriptException();
  return false;
}

// {address, port} of the socket's local end (getsockname), or undefined with an exception.
inline Napi::Value BoundAddress(Napi::Env env, int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    ErrnoError(env, errno, "getsockname").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("address", AddressString(ss));
  o.Set("port", PortOf(ss));
  return o;
}

// A new uv_poll_t on `fd` in this environment's loop, its data set; nullptr (and `fd` closed,
// an exception pending) when that fails.
inline uv_poll_t* NewPoll(Napi::Env env, int fd, void* data) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ::close(fd);
    CodedError(env, "ERR_LOCAL", "no event loop").ThrowAsJavaScriptException();
    return nullptr;
  }
  auto* poll = new uv_poll_t;
  int rc = uv_poll_init_socket(loop, poll, fd);
  if (rc != 0) {
    delete poll;
    ::close(fd);
    ErrnoError(env, -rc, "uv_poll_init").ThrowAsJavaScriptException();
    return nullptr;
  }
  poll->data = data;
  return poll;
}

// Stop and free a poll handle (freed by libuv after the loop lets go of it), then close `fd`.
inline void ClosePoll(uv_poll_t* poll, int fd) {
  uv_poll_stop(poll);
  poll->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  ::close(fd);
}

// The data and element count of `v` when it is a typed array of `want` (a Buffer is a
// Uint8Array); false for anything else, a typed array of another type included.
template <typename T>
inline bool TypedArrayOf(napi_env env, napi_value v, napi_typedarray_type want, T** data, size_t* length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  void* p = nullptr;
  if (napi_get_typedarray_info(env, v, &type, length, &p, nullptr, nullptr) != napi_ok || type != want) return false;
  *data = static_cast<T*>(p);
  return true;
}

}  // namespace wirekit

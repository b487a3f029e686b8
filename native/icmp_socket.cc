// wirekit ICMP socket: the only native code of the project. It owns one ICMP socket
// (raw, or a Linux "ping" datagram socket), polls it with libuv and hands every packet to
// JavaScript with its source address, TTL / hop limit (ancillary data), the kernel receive
// timestamp (SO_TIMESTAMPNS) and, on datagram sockets, the ICMP errors from the error queue
// (IP_RECVERR / IPV6_RECVERR). Packet encoding, checksums and matching live in TypeScript.
//
// JS surface:
//   new IcmpSocket(family: 4|6, kind: "raw"|"dgram", onMessage, protocol?)
//     protocol: another IP protocol for a raw socket (IPPROTO_TCP for traceroute -T); default ICMP
//     onMessage(buf, address, ttl /* -1 unknown */, rxNs /* 0n if none */, userNs, err | null)
//   send(buf, address) -> bigint   CLOCK_REALTIME ns read immediately before sendto()
//   setOption(level, name, number | Buffer), getOption(level, name) -> number
//   attachFilter(program: Buffer): classic BPF, SO_ATTACH_FILTER
//   bind(address, port), address() -> {address, port}, ref(), unref(), close()
// Errors thrown carry `.code` (the errno name, e.g. EACCES, EMSGSIZE).

#include "socket_common.h"

#include <linux/errqueue.h>
#include <linux/filter.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kRecvBuf = 65536;
constexpr int kMaxReadsPerWakeup = 256;

int64_t RealtimeNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

using wirekit::AddressString;
using wirekit::BoundAddress;
using wirekit::ClosePoll;
using wirekit::CodedError;
using wirekit::ErrnoError;
using wirekit::NewPoll;
using wirekit::ParseSockaddr;

class IcmpSocket : public Napi::ObjectWrap<IcmpSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "IcmpSocket",
                       {InstanceMethod("send", &IcmpSocket::Send),
                        InstanceMethod("setOption", &IcmpSocket::SetOption),
                        InstanceMethod("getOption", &IcmpSocket::GetOption),
                        InstanceMethod("attachFilter", &IcmpSocket::AttachFilter),
                        InstanceMethod("bind", &IcmpSocket::Bind),
                        InstanceMethod("address", &IcmpSocket::Address),
                        InstanceMethod("ref", &IcmpSocket::RefHandle),
                        InstanceMethod("unref", &IcmpSocket::UnrefHandle),
                        InstanceMethod("close", &IcmpSocket::Close)});
  }

  explicit IcmpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IcmpSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsFunction()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "IcmpSocket(family: 4|6, kind: 'raw'|'dgram', onMessage)")
          .ThrowAsJavaScriptException();
      return;
    }
    int fam = info[0].As<Napi::Number>().Int32Value();
    std::string kind = info[1].As<Napi::String>().Utf8Value();
    if ((fam != 4 && fam != 6) || (kind != "raw" && kind != "dgram")) {
      CodedError(env, "ERR_INVALID_ARG_VALUE", "family must be 4 or 6 and kind 'raw' or 'dgram'")
          .ThrowAsJavaScriptException();
      return;
    }
    family_ = fam == 4 ? AF_INET : AF_INET6;
    dgram_ = kind == "dgram";
    int proto = fam == 4 ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6);
    if (info.Length() >= 4 && info[3].IsNumber()) {
      if (dgram_) {
        CodedError(env, "ERR_INVALID_ARG_VALUE", "a protocol is only for raw sockets").ThrowAsJavaScriptException();
        return;
      }
      proto = info[3].As<Napi::Number>().Int32Value();
    }
    fd_ = socket(family_, (dgram_ ? SOCK_DGRAM : SOCK_RAW) | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd_ < 0) {
      ErrnoError(env, errno, "socket").ThrowAsJavaScriptException();
      return;
    }
    int one = 1;
    // Kernel receive timestamps, and the TTL / hop limit of each packet as ancillary data.
    setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (family_ == AF_INET) {
      setsockopt(fd_, IPPROTO_IP, IP_RECVTTL, &one, sizeof one);
      // Ping sockets report ICMP errors only through the error queue.
      if (dgram_) setsockopt(fd_, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
    } else {
      setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one);
      if (dgram_) setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one);
    }
    onMessage_ = Napi::Persistent(info[2].As<Napi::Function>());
    asyncContext_ = new Napi::AsyncContext(env, "wirekit:IcmpSocket");
    poll_ = NewPoll(env, fd_, this);
    if (poll_ == nullptr) {
      fd_ = -1;
      return;
    }
    uv_poll_start(poll_, UV_READABLE, OnPoll);
    napi_add_env_cleanup_hook(env, CleanupHook, this);
    Ref();  // stay alive while the handle is open, even if JS drops the object
    open_ = true;
  }

  ~IcmpSocket() override {
    DoClose(false);
    delete asyncContext_;
  }

 private:
  static void CleanupHook(void* arg) { static_cast<IcmpSocket*>(arg)->DoClose(false); }

  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<IcmpSocket*>(handle->data);
    if (self == nullptr || !self->open_) return;
    self->ReadAll();
    // A non-empty error queue raises POLLERR, which libuv reports as UV_EBADF and then stops
    // the watcher: after draining, start it again.
    if (status < 0 && self->open_) uv_poll_start(self->poll_, UV_READABLE, OnPoll);
  }

  // The delivery path uses the C API and checks every status: while a worker is being terminated
  // JS cannot run, and node-addon-api's failure path (building an Error) would abort the process.
  void ReadAll() {
    napi_env env = Env();
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    for (int i = 0; i < kMaxReadsPerWakeup && open_; i++) {
      int r = ReadOne(env, MSG_ERRQUEUE);
      if (r <= 0) break;
    }
    for (int i = 0; i < kMaxReadsPerWakeup && open_; i++) {
      int r = ReadOne(env, 0);
      if (r == 0) break;
      // r < 0: a pending socket error (the plain recvmsg returns it once); go on reading.
      if (r < 0) {
        for (int j = 0; j < kMaxReadsPerWakeup && open_; j++) {
          if (ReadOne(env, MSG_ERRQUEUE) <= 0) break;
        }
      }
    }
    napi_close_handle_scope(env, scope);
  }

  // 1 = delivered a packet, 0 = nothing more (EAGAIN), -1 = some other error
  int ReadOne(napi_env env, int flags) {
    static thread_local unsigned char data[kRecvBuf];
    alignas(cmsghdr) unsigned char control[1024];
    sockaddr_storage from;
    memset(&from, 0, sizeof from);
    iovec iov{data, sizeof data};
    msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd_, &msg, flags | MSG_DONTWAIT);
    int64_t userNs = RealtimeNs();
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == EINTR) return -1;
      return -1;
    }
    int ttl = -1;
    int64_t rxNs = 0;
    const sock_extended_err* ee = nullptr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        rxNs = static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
        memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
        memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                 (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
      }
    }
    std::string address;
    napi_value errValue = nullptr;
    bool ok = true;
    auto setNum = [&](napi_value obj, const char* key, double v) {
      napi_value n;
      ok = ok && napi_create_double(env, v, &n) == napi_ok && napi_set_named_property(env, obj, key, n) == napi_ok;
    };
    if (ee != nullptr) {
      ok = napi_create_object(env, &errValue) == napi_ok;
      setNum(errValue, "origin", ee->ee_origin);
      setNum(errValue, "type", ee->ee_type);
      setNum(errValue, "code", ee->ee_code);
      setNum(errValue, "errno", ee->ee_errno);
      setNum(errValue, "info", ee->ee_info);
      const sockaddr* off = SO_EE_OFFENDER(ee);
      sockaddr_storage ss;
      memset(&ss, 0, sizeof ss);
      if (off->sa_family == AF_INET) memcpy(&ss, off, sizeof(sockaddr_in));
      else if (off->sa_family == AF_INET6) memcpy(&ss, off, sizeof(sockaddr_in6));
      address = AddressString(ss);
    } else if (flags & MSG_ERRQUEUE) {
      return 1;  // an error-queue entry we do not understand (e.g. local): skip it
    } else {
      address = AddressString(from);
      ok = napi_get_null(env, &errValue) == napi_ok;
    }
    napi_value args[6];
    void* copy = nullptr;
    ok = ok && napi_create_buffer_copy(env, static_cast<size_t>(n), data, &copy, &args[0]) == napi_ok;
    ok = ok && napi_create_string_utf8(env, address.c_str(), address.size(), &args[1]) == napi_ok;
    ok = ok && napi_create_int32(env, ttl, &args[2]) == napi_ok;
    ok = ok && napi_create_bigint_int64(env, rxNs, &args[3]) == napi_ok;
    ok = ok && napi_create_bigint_int64(env, userNs, &args[4]) == napi_ok;
    args[5] = errValue;
    napi_value recv = nullptr;
    napi_value fn = nullptr;
    ok = ok && napi_get_reference_value(env, wrapperRef(), &recv) == napi_ok && recv != nullptr;
    ok = ok && napi_get_reference_value(env, onMessage_, &fn) == napi_ok && fn != nullptr;
    if (!ok) return 0;  // the environment is going away: stop reading
    napi_value result;
    napi_status st = napi_make_callback(env, static_cast<napi_async_context>(*asyncContext_), recv, fn, 6, args, &result);
    bool pending = false;
    if (st != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
    }
    return st == napi_ok || st == napi_pending_exception ? 1 : 0;
  }

  napi_ref wrapperRef() { return static_cast<napi_ref>(static_cast<const Napi::Reference<Napi::Object>&>(*this)); }

  bool CheckOpen(Napi::Env env) {
    if (open_) return true;
    CodedError(env, "ERR_SOCKET_CLOSED", "socket is closed").ThrowAsJavaScriptException();
    return false;
  }

  bool ParseAddress(Napi::Env env, const std::string& text, int port, sockaddr_storage* out, socklen_t* len) {
    return ParseSockaddr(env, family_, text, port, false, out, len);
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsString()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "send(buf: Buffer, address: string)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    sockaddr_storage to;
    socklen_t len = 0;
    if (!ParseAddress(env, info[1].As<Napi::String>().Utf8Value(), 0, &to, &len)) return env.Undefined();
    // An ICMP error for an earlier probe leaves a pending sk_err (IP_RECVERR, or a "hard" error on
    // a raw socket) that would fail this send with EHOSTUNREACH if our poll callback has not run
    // yet. Reading SO_ERROR clears it; the error itself is still queued for ReadAll to report.
    int pending = 0;
    socklen_t plen = sizeof pending;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &pending, &plen);
    int64_t txNs = RealtimeNs();
    ssize_t n = sendto(fd_, buf.Data(), buf.Length(), 0, reinterpret_cast<sockaddr*>(&to), len);
    if (n < 0) {
      ErrnoError(env, errno, "sendto").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::BigInt::New(env, txNs);
  }

  Napi::Value SetOption(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !(info[2].IsNumber() || info[2].IsBuffer())) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "setOption(level, name, value: number | Buffer)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int level = info[0].As<Napi::Number>().Int32Value();
    int name = info[1].As<Napi::Number>().Int32Value();
    int rc;
    if (info[2].IsNumber()) {
      int v = info[2].As<Napi::Number>().Int32Value();
      rc = setsockopt(fd_, level, name, &v, sizeof v);
    } else {
      auto b = info[2].As<Napi::Buffer<uint8_t>>();
      rc = setsockopt(fd_, level, name, b.Data(), static_cast<socklen_t>(b.Length()));
    }
    if (rc != 0) ErrnoError(env, errno, "setsockopt").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // attachFilter(program: Buffer): a classic BPF program (struct sock_filter, 8 bytes each, in
  // this machine's byte order) as SO_ATTACH_FILTER, so the kernel drops what it rejects before it
  // reaches the receive queue. A raw TCP or UDP socket gets a copy of every segment of its
  // protocol on the host: without a filter, other traffic fills the queue and the answer to a
  // probe is dropped with it.
  Napi::Value AttachFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsBuffer()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "attachFilter(program: Buffer)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto b = info[0].As<Napi::Buffer<uint8_t>>();
    size_t n = b.Length() / sizeof(sock_filter);
    if (n == 0 || n > BPF_MAXINSNS || b.Length() % sizeof(sock_filter) != 0) {
      CodedError(env, "ERR_INVALID_ARG_VALUE", "attachFilter: the program must be 1 to 4096 instructions of 8 bytes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::vector<sock_filter> code(n);
    std::memcpy(code.data(), b.Data(), n * sizeof(sock_filter));
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(n);
    prog.filter = code.data();
    if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) ErrnoError(env, errno, "setsockopt(SO_ATTACH_FILTER)").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Value GetOption(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "getOption(level, name)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd_, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), &v, &len) != 0) {
      ErrnoError(env, errno, "getsockopt").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, v);
  }

  Napi::Value Bind(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "bind(address: string, port: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sockaddr_storage ss;
    socklen_t len = 0;
    if (!ParseAddress(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value(), &ss, &len))
      return env.Undefined();
    if (bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) ErrnoError(env, errno, "bind").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Value Address(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    return BoundAddress(env, fd_);
  }

  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    if (open_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (open_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    DoClose(true);
    return info.Env().Undefined();
  }

  void DoClose(bool fromJs) {
    if (!open_) return;
    open_ = false;
    napi_remove_env_cleanup_hook(Env(), CleanupHook, this);
    ClosePoll(poll_, fd_);
    poll_ = nullptr;
    fd_ = -1;
    // asyncContext_ is freed in the destructor: close() may run inside a callback made with it.
    if (fromJs) {
      onMessage_.Reset();
      Unref();
    }
  }

  int fd_ = -1;
  int family_ = AF_INET;
  bool dgram_ = false;
  bool open_ = false;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference onMessage_;
  Napi::AsyncContext* asyncContext_ = nullptr;
};

}  // namespace

Napi::Function InitUdpSocket(Napi::Env env);  // native/udp_socket.cc
Napi::Function InitSendHeadAndFile(Napi::Env env);  // native/send_file.cc
void InitHmacSha256(Napi::Env env, Napi::Object exports);  // native/hmac_sha256.cc
void InitMetricsText(Napi::Env env, Napi::Object exports);  // native/metrics_text.cc

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("IcmpSocket", IcmpSocket::Init(env));
  exports.Set("UdpSocket", InitUdpSocket(env));
  exports.Set("sendHeadAndFile", InitSendHeadAndFile(env));
  InitHmacSha256(env, exports);
  InitMetricsText(env, exports);
  Napi::Object c = Napi::Object::New(env);
  c.Set("SOL_SOCKET", Napi::Number::New(env, static_cast<int>(SOL_SOCKET)));
  c.Set("SO_RCVBUF", Napi::Number::New(env, static_cast<int>(SO_RCVBUF)));
  c.Set("SO_SNDBUF", Napi::Number::New(env, static_cast<int>(SO_SNDBUF)));
  c.Set("IPPROTO_IP", Napi::Number::New(env, static_cast<int>(IPPROTO_IP)));
  c.Set("IP_TTL", Napi::Number::New(env, static_cast<int>(IP_TTL)));
  c.Set("IP_TOS", Napi::Number::New(env, static_cast<int>(IP_TOS)));
  c.Set("IP_MTU_DISCOVER", Napi::Number::New(env, static_cast<int>(IP_MTU_DISCOVER)));
  c.Set("IP_PMTUDISC_DONT", Napi::Number::New(env, static_cast<int>(IP_PMTUDISC_DONT)));
  c.Set("IP_PMTUDISC_DO", Napi::Number::New(env, static_cast<int>(IP_PMTUDISC_DO)));
  c.Set("IPPROTO_IPV6", Napi::Number::New(env, static_cast<int>(IPPROTO_IPV6)));
  c.Set("IPV6_UNICAST_HOPS", Napi::Number::New(env, static_cast<int>(IPV6_UNICAST_HOPS)));
  c.Set("IPV6_TCLASS", Napi::Number::New(env, static_cast<int>(IPV6_TCLASS)));
  c.Set("IPV6_MTU_DISCOVER", Napi::Number::New(env, static_cast<int>(IPV6_MTU_DISCOVER)));
  c.Set("SOL_RAW", Napi::Number::New(env, static_cast<int>(255)));
  c.Set("ICMP_FILTER", Napi::Number::New(env, 1 /* ICMP_FILTER, linux/icmp.h */));
  c.Set("IPPROTO_ICMPV6", Napi::Number::New(env, static_cast<int>(IPPROTO_ICMPV6)));
  c.Set("ICMP6_FILTER", Napi::Number::New(env, static_cast<int>(ICMP6_FILTER)));
  c.Set("IPPROTO_TCP", Napi::Number::New(env, static_cast<int>(IPPROTO_TCP)));
  exports.Set("constants", c);
  return exports;
}

}  // namespace

NODE_API_MODULE(wirekit_icmp, Init)

// wirekit batched UDP socket: the fast path for servers that answer many small datagrams
// (the heartbeat monitor). Node's dgram makes one system call and one JavaScript callback per
// datagram in each direction; here one wakeup reads up to kBatch datagrams with recvmmsg(2),
// hands them to JavaScript in a single call, and the replies queued during that call leave in
// one sendmmsg(2). What the datagrams mean stays in TypeScript.
//
// JS surface:
//   new UdpSocket(family: 4|6, onBatch, slot = 2048)   slot: bytes kept per datagram (at most 65536)
//     onBatch(data: Buffer, meta: Uint32Array, addresses: string[])
//       datagram i is data[meta[3i] .. meta[3i] + meta[3i+1]) from addresses[i]:meta[3i+2]
//   bind(address, port)               IPv6 "::" also serves IPv4 (IPV6_V6ONLY off)
//   reply(i, buf)                     only inside onBatch: queue buf to the sender of datagram i;
//                                     the queue is sent with sendmmsg when onBatch returns
//   send(buf, address, port)          one sendto now
//   setOption(level, name, value), address() -> {address, port}, close()
//                                     SO_RCVBUF / SO_SNDBUF: the size asked for even above
//                                     net.core.rmem_max / wmem_max when the process may
//                                     (CAP_NET_ADMIN: SO_RCVBUFFORCE), else capped by them
// Errors thrown carry `.code` (the errno name, e.g. EADDRINUSE).

#include "socket_common.h"

#include <algorithm>
#include <string>
#include <vector>

namespace {

constexpr unsigned kBatch = 64;              // datagrams per recvmmsg
constexpr unsigned kDefaultSlot = 2048;      // bytes kept per datagram unless asked (longer ones are cut: see kTruncated)
constexpr unsigned kMaxSlot = 65536;         // the largest UDP payload fits
constexpr int kBatchesPerWakeup = 16;        // then give the event loop back
constexpr unsigned kMaxQueuedReplies = 4096;  // replies waiting for one sendmmsg
constexpr uint32_t kTruncated = 0x80000000u;  // set in the port word of a datagram longer than the slot

using wirekit::BoundAddress;
using wirekit::ClosePoll;
using wirekit::CodedError;
using wirekit::ErrnoError;
using wirekit::NewPoll;
using wirekit::ParseSockaddr;
using wirekit::PortOf;

size_t AddressText(const sockaddr_storage& ss, char* out, size_t size) {
  out[0] = 0;
  if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, out, size);
  else if (ss.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, out, size);
  return strlen(out);
}

bool SameHost(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr == reinterpret_cast<const sockaddr_in*>(&b)->sin_addr.s_addr;
  return memcmp(&reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr, &reinterpret_cast<const sockaddr_in6*>(&b)->sin6_addr,
                sizeof(in6_addr)) == 0;
}

class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "UdpSocket",
                       {InstanceMethod("bind", &UdpSocket::Bind), InstanceMethod("reply", &UdpSocket::Reply),
                        InstanceMethod("send", &UdpSocket::Send), InstanceMethod("setOption", &UdpSocket::SetOption),
                        InstanceMethod("address", &UdpSocket::Address), InstanceMethod("close", &UdpSocket::Close)});
  }

  explicit UdpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "UdpSocket(family: 4|6, onBatch)").ThrowAsJavaScriptException();
      return;
    }
    int fam = info[0].As<Napi::Number>().Int32Value();
    if (fam != 4 && fam != 6) {
      CodedError(env, "ERR_INVALID_ARG_VALUE", "family must be 4 or 6").ThrowAsJavaScriptException();
      return;
    }
    family_ = fam == 4 ? AF_INET : AF_INET6;
    if (info.Length() >= 3 && info[2].IsNumber()) {
      int64_t want = info[2].As<Napi::Number>().Int64Value();
      if (want < 1 || want > kMaxSlot) {
        CodedError(env, "ERR_INVALID_ARG_VALUE", "slot must be 1 to 65536 bytes").ThrowAsJavaScriptException();
        return;
      }
      slot_ = static_cast<unsigned>(want);
    }
    fd_ = socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd_ < 0) {
      ErrnoError(env, errno, "socket").ThrowAsJavaScriptException();
      return;
    }
    if (family_ == AF_INET6) {
      int off = 0;
      setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    data_.resize(static_cast<size_t>(kBatch) * slot_);
    onBatch_ = Napi::Persistent(info[1].As<Napi::Function>());
    asyncContext_ = new Napi::AsyncContext(env, "wirekit:UdpSocket");
    poll_ = NewPoll(env, fd_, this);
    if (poll_ == nullptr) {
      fd_ = -1;
      return;
    }
    napi_add_env_cleanup_hook(env, CleanupHook, this);
    Ref();  // stay alive while the handle is open, even if JS drops the object
    open_ = true;
  }

  ~UdpSocket() override {
    DoClose(false);
    delete asyncContext_;
  }

 private:
  struct Pending {
    sockaddr_storage to;
    socklen_t len;
    uint32_t offset;
    uint32_t size;
  };

  static void CleanupHook(void* arg) { static_cast<UdpSocket*>(arg)->DoClose(false); }

  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<UdpSocket*>(handle->data);
    if (self == nullptr || !self->open_) return;
    napi_env env = self->Env();
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    for (int i = 0; i < kBatchesPerWakeup && self->open_; i++) {
      if (self->ReadBatch(env) < static_cast<int>(kBatch)) break;
    }
    napi_close_handle_scope(env, scope);
    // libuv stops a watcher that reported an error (a pending socket error): start it again.
    if (status < 0 && self->open_) uv_poll_start(self->poll_, UV_READABLE, OnPoll);
  }

  // Reads one recvmmsg batch and delivers it; returns how many datagrams it read (0 = none waiting).
  int ReadBatch(napi_env env) {
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    memset(msgs, 0, sizeof msgs);
    for (unsigned i = 0; i < kBatch; i++) {
      iov[i] = {data_.data() + static_cast<size_t>(i) * slot_, slot_};
      msgs[i].msg_hdr.msg_name = &from_[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from_[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return 0;  // EAGAIN, or a pending ICMP error reported once (nothing to deliver)
    // Payloads packed back to back in one Buffer; [offset, length, port] per datagram beside it.
    size_t total = 0;
    for (int i = 0; i < n; i++) total += msgs[i].msg_len;
    bool ok = true;
    void* raw = nullptr;
    napi_value buf, metaBuf, meta, addrs;
    ok = napi_create_buffer(env, total == 0 ? 1 : total, &raw, &buf) == napi_ok;
    void* metaRaw = nullptr;
    ok = ok && napi_create_arraybuffer(env, static_cast<size_t>(n) * 3 * sizeof(uint32_t), &metaRaw, &metaBuf) == napi_ok;
    ok = ok && napi_create_typedarray(env, napi_uint32_array, static_cast<size_t>(n) * 3, metaBuf, 0, &meta) == napi_ok;
    ok = ok && napi_create_array_with_length(env, static_cast<size_t>(n), &addrs) == napi_ok;
    if (!ok) return 0;  // the environment is going away
    auto* out = static_cast<unsigned char*>(raw);
    auto* m = static_cast<uint32_t*>(metaRaw);
    size_t off = 0;
    napi_value lastAddr = nullptr;
    int last = -1;
    for (int i = 0; i < n; i++) {
      unsigned len = msgs[i].msg_len;
      memcpy(out + off, data_.data() + static_cast<size_t>(i) * slot_, len);
      uint32_t port = static_cast<uint32_t>(PortOf(from_[i]));
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) port |= kTruncated;
      m[3 * i] = static_cast<uint32_t>(off);
      m[3 * i + 1] = len;
      m[3 * i + 2] = port;
      off += len;
      // A flood usually comes from a few hosts: reuse the string of the previous datagram's host.
      if (last < 0 || !SameHost(from_[last], from_[i])) {
        char text[INET6_ADDRSTRLEN];
        size_t tl = AddressText(from_[i], text, sizeof text);
        ok = ok && napi_create_string_latin1(env, text, tl, &lastAddr) == napi_ok;
        last = i;
      }
      ok = ok && napi_set_element(env, addrs, static_cast<uint32_t>(i), lastAddr) == napi_ok;
    }
    napi_value recv = nullptr, fn = nullptr;
    ok = ok && napi_get_reference_value(env, static_cast<napi_ref>(static_cast<const Napi::Reference<Napi::Object>&>(*this)), &recv) == napi_ok && recv != nullptr;
    ok = ok && napi_get_reference_value(env, onBatch_, &fn) == napi_ok && fn != nullptr;
    if (!ok) return 0;
    batchCount_ = n;
    inBatch_ = true;
    napi_value args[3] = {buf, meta, addrs};
    napi_value result;
    // Held for the call: JS may close the socket and drop it from inside onBatch, and this
    // object is still used afterwards (the replies queued so far are flushed, or dropped).
    Ref();
    napi_status st = napi_make_callback(env, static_cast<napi_async_context>(*asyncContext_), recv, fn, 3, args, &result);
    inBatch_ = false;
    bool pending = false;
    if (st != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
    }
    FlushReplies();
    Unref();
    return n;
  }

  void FlushReplies() {
    size_t done = 0;
    while (open_ && done < pending_.size()) {
      unsigned k = static_cast<unsigned>(std::min<size_t>(pending_.size() - done, kBatch));
      mmsghdr msgs[kBatch];
      iovec iov[kBatch];
      memset(msgs, 0, sizeof msgs);
      for (unsigned i = 0; i < k; i++) {
        Pending& p = pending_[done + i];
        iov[i] = {replyData_.data() + p.offset, p.size};
        msgs[i].msg_hdr.msg_name = &p.to;
        msgs[i].msg_hdr.msg_namelen = p.len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int s = sendmmsg(fd_, msgs, k, MSG_DONTWAIT);
      if (s < 0) {
        if (errno == EINTR) continue;
        // EAGAIN (send buffer full) or an error for the first reply (e.g. EPERM from a firewall):
        // that datagram is lost, as a UDP reply may be; go on with the next one.
        done += 1;
        continue;
      }
      done += static_cast<size_t>(s);
    }
    pending_.clear();
    replyData_.clear();
  }

  bool CheckOpen(Napi::Env env) {
    if (open_) return true;
    CodedError(env, "ERR_SOCKET_CLOSED", "socket is closed").ThrowAsJavaScriptException();
    return false;
  }

  bool ParseAddress(Napi::Env env, const std::string& text, int port, sockaddr_storage* out, socklen_t* len) {
    return ParseSockaddr(env, family_, text, port, true, out, len);
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
    if (bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      ErrnoError(env, errno, "bind").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uv_poll_start(poll_, UV_READABLE, OnPoll);
    return env.Undefined();
  }

  Napi::Value Reply(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "reply(index: number, buf: Buffer)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int i = info[0].As<Napi::Number>().Int32Value();
    if (!inBatch_ || i < 0 || i >= batchCount_) {
      CodedError(env, "ERR_INVALID_ARG_VALUE", "reply() is for a datagram of the batch being delivered").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto buf = info[1].As<Napi::Buffer<uint8_t>>();
    if (pending_.size() >= kMaxQueuedReplies) FlushReplies();
    Pending p;
    p.to = from_[i];
    p.len = from_[i].ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    p.offset = static_cast<uint32_t>(replyData_.size());
    p.size = static_cast<uint32_t>(buf.Length());
    replyData_.insert(replyData_.end(), buf.Data(), buf.Data() + buf.Length());
    pending_.push_back(p);
    return env.Undefined();
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsString() || !info[2].IsNumber()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "send(buf: Buffer, address: string, port: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    sockaddr_storage to;
    socklen_t len = 0;
    if (!ParseAddress(env, info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().Int32Value(), &to, &len))
      return env.Undefined();
    if (sendto(fd_, buf.Data(), buf.Length(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), len) < 0) {
      ErrnoError(env, errno, "sendto").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return env.Undefined();
  }

  Napi::Value SetOption(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "setOption(level, name, value: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int v = info[2].As<Napi::Number>().Int32Value();
    const int level = info[0].As<Napi::Number>().Int32Value();
    const int name = info[1].As<Napi::Number>().Int32Value();
    // A buffer size is capped by net.core.rmem_max / wmem_max (4 MiB on many hosts: about 10 000
    // small datagrams, 0.1 s of a 100 000/s monitor that a stall of its thread overflows). With
    // CAP_NET_ADMIN the *FORCE variant grants what was asked; without it, it fails with EPERM
    // and the capped request below is what is made.
    if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF) &&
        setsockopt(fd_, level, name == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE, &v, sizeof v) == 0)
      return env.Undefined();
    if (setsockopt(fd_, level, name, &v, sizeof v) != 0) ErrnoError(env, errno, "setsockopt").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Value Address(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    return BoundAddress(env, fd_);
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
    pending_.clear();
    replyData_.clear();
    // asyncContext_ is freed in the destructor: close() may run inside a callback made with it.
    if (fromJs) {
      onBatch_.Reset();
      Unref();
    }
  }

  int fd_ = -1;
  int family_ = AF_INET;
  bool open_ = false;
  bool inBatch_ = false;
  int batchCount_ = 0;
  unsigned slot_ = kDefaultSlot;
  uv_poll_t* poll_ = nullptr;
  std::vector<unsigned char> data_;
  sockaddr_storage from_[kBatch];
  std::vector<Pending> pending_;
  std::vector<unsigned char> replyData_;
  Napi::FunctionReference onBatch_;
  Napi::AsyncContext* asyncContext_ = nullptr;
};

}  // namespace

// Called from icmp_socket.cc's module Init: one addon, two socket classes.
Napi::Function InitUdpSocket(Napi::Env env) { return UdpSocket::Init(env); }

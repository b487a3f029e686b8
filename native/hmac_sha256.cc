// wirekit HMAC-SHA256 check: the keyed heartbeat's MAC (RFC 2104, FIPS 180-4), finished from a
// key's two prepared midstates (src/core/hmac-sha256.ts hmacSha256KeyState) and compared in
// constant time, in one call per heartbeat. The same three compressions in JavaScript cost
// about 1.9 µs a heartbeat; plain C does them in a fraction of that. src/core/hmac-sha256.ts
// keeps the JavaScript version as the fallback when the addon is missing, and
// test/core/hmac-sha256.test.ts checks the two against each other and against node:crypto.
//
// JS surface:
//   hmacSha256Verify(state: Int32Array, at, prefix: Uint8Array, message: Uint8Array, mac: Uint8Array) -> boolean
//     true when mac (32 bytes) is HMAC-SHA256 over prefix || message under the key whose inner
//     and outer midstates are state[at .. at + 8) and state[at + 8 .. at + 16); every byte of
//     the 32 is compared, no early exit. A mac of another length is false. Throws EINVAL on
//     arguments of the wrong type or a state range outside the array.
//   hmacSha256Implementation: "sha-ni" (the x86 SHA extensions, when CPUID has them) or "portable";
//     WIREKIT_SHA256=portable in the environment when the addon loads forces the portable one
//     (the tests check both on one machine).

#include "socket_common.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace {

constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
    0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
    0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
    0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
    0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// One SHA-256 compression of the 64 bytes at b into h, in plain C.
void CompressPortable(uint32_t h[8], const uint8_t* b) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t{b[4 * i]} << 24) | (uint32_t{b[4 * i + 1]} << 16) | (uint32_t{b[4 * i + 2]} << 8) | uint32_t{b[4 * i + 3]};
  for (int i = 16; i < 64; i++) {
    const uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    const uint32_t t1 = hh + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + (g ^ (e & (f ^ g))) + kK[i] + w[i];
    const uint32_t t2 = (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + ((a & bb) | (c & (a | bb)));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = bb;
    bb = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += bb;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

#if defined(__x86_64__)
// The same compression with the x86 SHA extensions (Intel SHA-NI; AMD since Zen): sha256rnds2
// does two rounds, sha256msg1/2 the message schedule. Compiled for them by the target attribute
// only, and called only when CPUID says the CPU has them (kUseShaNi).
__attribute__((target("sha,sse4.1"))) void CompressShaNi(uint32_t h[8], const uint8_t* b) {
  const __m128i byteSwap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  // The state as the instructions want it: ABEF and CDGH.
  __m128i t = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)), 0xB1);      // CDAB
  __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 4)), 0x1B);  // EFGH
  __m128i s0 = _mm_alignr_epi8(t, s1, 8);                                                         // ABEF
  s1 = _mm_blend_epi16(s1, t, 0xF0);                                                              // CDGH
  const __m128i abef = s0, cdgh = s1;
  __m128i w[4];
  for (int g = 0; g < 16; g++) {
    __m128i& wg = w[g & 3];
    if (g < 4) {
      wg = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16 * g)), byteSwap);
    } else {
      // W[4g..4g+3] from W[4g-16..4g-13] (+ sigma0 of the next), W[4g-7..4g-4], and sigma1 of W[4g-2..4g-1].
      const __m128i prev = w[(g - 1) & 3];
      wg = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(wg, w[(g - 3) & 3]), _mm_alignr_epi8(prev, w[(g - 2) & 3], 4)), prev);
    }
    __m128i m = _mm_add_epi32(wg, _mm_loadu_si128(reinterpret_cast<const __m128i*>(kK + 4 * g)));
    s1 = _mm_sha256rnds2_epu32(s1, s0, m);
    m = _mm_shuffle_epi32(m, 0x0E);
    s0 = _mm_sha256rnds2_epu32(s0, s1, m);
  }
  s0 = _mm_add_epi32(s0, abef);
  s1 = _mm_add_epi32(s1, cdgh);
  // Back to ABCD and EFGH.
  t = _mm_shuffle_epi32(s0, 0x1B);   // FEBA
  s1 = _mm_shuffle_epi32(s1, 0xB1);  // DCHG
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h), _mm_blend_epi16(t, s1, 0xF0));  // DCBA
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h + 4), _mm_alignr_epi8(s1, t, 8));  // HGFE
}

bool UseShaNi() {
  const char* forced = getenv("WIREKIT_SHA256");
  if (forced != nullptr && strcmp(forced, "portable") == 0) return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || (c & bit_SSSE3) == 0 || (c & bit_SSE4_1) == 0) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (b & bit_SHA) != 0;
}

const bool kUseShaNi = UseShaNi();

void Compress(uint32_t h[8], const uint8_t* b) {
  if (kUseShaNi) CompressShaNi(h, b);
  else CompressPortable(h, b);
}
#else
constexpr bool kUseShaNi = false;
void Compress(uint32_t h[8], const uint8_t* b) { CompressPortable(h, b); }
#endif

// A SHA-256 whose state has already taken in `done` bytes (a multiple of 64), fed in pieces.
struct Sha256 {
  uint32_t h[8];
  uint8_t block[64];
  size_t fill = 0;
  uint64_t total;

  Sha256(const uint32_t start[8], uint64_t done) : total(done) { memcpy(h, start, sizeof h); }

  void Update(const uint8_t* p, size_t n) {
    total += n;
    if (fill > 0) {
      const size_t take = n < 64 - fill ? n : 64 - fill;
      memcpy(block + fill, p, take);
      fill += take;
      p += take;
      n -= take;
      if (fill < 64) return;
      Compress(h, block);
      fill = 0;
    }
    for (; n >= 64; p += 64, n -= 64) Compress(h, p);
    memcpy(block, p, n);
    fill = n;
  }

  // Pad, compress, and write the digest big-endian into out[0, 32).
  void Final(uint8_t out[32]) {
    const uint64_t bits = total * 8;
    block[fill++] = 0x80;
    if (fill > 56) {
      memset(block + fill, 0, 64 - fill);
      Compress(h, block);
      fill = 0;
    }
    memset(block + fill, 0, 56 - fill);
    for (int i = 0; i < 8; i++) block[56 + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
    Compress(h, block);
    for (int i = 0; i < 8; i++) {
      out[4 * i] = static_cast<uint8_t>(h[i] >> 24);
      out[4 * i + 1] = static_cast<uint8_t>(h[i] >> 16);
      out[4 * i + 2] = static_cast<uint8_t>(h[i] >> 8);
      out[4 * i + 3] = static_cast<uint8_t>(h[i]);
    }
  }
};

Napi::Value HmacSha256Verify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const void* state = nullptr;
  const void* prefix = nullptr;
  const void* message = nullptr;
  const void* mac = nullptr;
  size_t stateLength = 0, prefixLength = 0, messageLength = 0, macLength = 0;
  int64_t at = -1;
  const bool ok = info.Length() >= 5 && wirekit::TypedArrayOf(env, info[0], napi_int32_array, &state, &stateLength) && info[1].IsNumber() &&
                  (at = info[1].As<Napi::Number>().Int64Value()) >= 0 && static_cast<uint64_t>(at) + 16 <= stateLength &&
                  wirekit::TypedArrayOf(env, info[2], napi_uint8_array, &prefix, &prefixLength) &&
                  wirekit::TypedArrayOf(env, info[3], napi_uint8_array, &message, &messageLength) &&
                  wirekit::TypedArrayOf(env, info[4], napi_uint8_array, &mac, &macLength);
  if (!ok) {
    wirekit::CodedError(env, "EINVAL", "hmacSha256Verify(state: Int32Array, at, prefix: Uint8Array, message: Uint8Array, mac: Uint8Array)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (macLength != 32) return Napi::Boolean::New(env, false);

  // The midstates are Int32 words in the host's order, as JavaScript wrote them.
  uint32_t midstates[16];
  memcpy(midstates, static_cast<const uint32_t*>(state) + at, sizeof midstates);
  uint8_t digest[32];
  Sha256 inner(midstates, 64);
  if (prefixLength > 0) inner.Update(static_cast<const uint8_t*>(prefix), prefixLength);
  if (messageLength > 0) inner.Update(static_cast<const uint8_t*>(message), messageLength);
  inner.Final(digest);
  Sha256 outer(midstates + 8, 64);
  outer.Update(digest, 32);
  outer.Final(digest);

  unsigned diff = 0;
  const uint8_t* want = static_cast<const uint8_t*>(mac);
  for (int i = 0; i < 32; i++) diff |= digest[i] ^ want[i];
  return Napi::Boolean::New(env, diff == 0);
}

}  // namespace

// Called from icmp_socket.cc's module Init.
void InitHmacSha256(Napi::Env env, Napi::Object exports) {
  exports.Set("hmacSha256Verify", Napi::Function::New(env, HmacSha256Verify, "hmacSha256Verify"));
  exports.Set("hmacSha256Implementation", Napi::String::New(env, kUseShaNi ? "sha-ni" : "portable"));
}

// wirekit metrics text: the lines of one family of the heartbeat monitor's Prometheus exposition
// (`heartbeat serve --metrics`), written as bytes into the scrape's buffer. At 100 000 clients a
// scrape is some 68 MB and 1.2 M lines; src/udp/heartbeat/metrics-lines.ts writes the same bytes in
// JavaScript (the fallback when the addon is missing) and test/udp/heartbeat/metrics-lines.test.ts
// checks the two byte for byte, hostile label values and every kind of number included.
//
// JS surface:
//   writeMetricLines(buf: Uint8Array, pos, labels: Uint8Array, starts: Int32Array, labelAt: Int32Array,
//                    first: boolean, prefix: Uint8Array, suffixes: Uint8Array, suffixAt: Int32Array,
//                    pick: Uint8Array | Int32Array | null, values: Float64Array | null, stride, m) -> pos
//     For each client i < labelAt.length: skip it when values[i * stride + m] is NaN (values given)
//     or its suffix index (pick[i], or 0 without pick) is negative; else write prefix, its label,
//     suffixes[suffixAt[k] .. suffixAt[k + 1]), and with values the value and "\n". The label is
//     labels[starts[i] .. starts[i + 1] - 1) when `first` (its position in buf then goes into
//     labelAt[i]), else copied from buf[labelAt[i] ..] where the first family wrote it. Values are
//     written as metrics-lines.ts writeValue writes them. Returns the position after the last line.
//     Throws EINVAL on arguments of the wrong type or indices outside their arrays, ERANGE when buf
//     has no room for a line (the caller makes room for the family's bound first); never writes
//     outside buf.

#include "socket_common.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// A non-negative integer below 2^53 as digits at p; returns the position after them.
inline uint8_t* Digits(uint8_t* p, uint64_t x) {
  uint8_t tmp[20];
  int n = 0;
  do {
    tmp[n++] = static_cast<uint8_t>('0' + x % 10);
    x /= 10;
  } while (x != 0);
  while (n > 0) *p++ = tmp[--n];
  return p;
}

// ECMAScript Number::toString(v) (what JavaScript's String(v) gives) for the values metrics-lines.ts
// hands to it: non-finite, or not below 1e9 in magnitude. The shortest digits that read back as v
// (the first precision whose %.*e round-trips: glibc's printf rounds correctly), laid out as
// ECMA-262 6.1.6.1.20 lays them out.
uint8_t* JsNumber(uint8_t* p, double v) {
  if (std::isnan(v)) return static_cast<uint8_t*>(memcpy(p, "NaN", 3)) + 3;
  if (std::isinf(v)) return static_cast<uint8_t*>(memcpy(p, v > 0 ? "+Inf" : "-Inf", 4)) + 4;
  char text[40];
  for (int precision = 1; precision <= 17; precision++) {
    snprintf(text, sizeof text, "%.*e", precision - 1, v);
    if (strtod(text, nullptr) == v) break;
  }
  // text: [-]d[.ddd]e(+|-)xx
  const char* s = text;
  if (*s == '-') *p++ = *s++;
  char digits[20];
  int k = 0;
  for (; *s != 'e'; s++)
    if (*s != '.') digits[k++] = *s;
  while (k > 1 && digits[k - 1] == '0') k--;
  const int n = atoi(s + 1) + 1;  // v = 0.digits x 10^n
  if (k <= n && n <= 21) {
    memcpy(p, digits, k);
    p += k;
    for (int j = k; j < n; j++) *p++ = '0';
  } else if (0 < n && n <= 21) {
    memcpy(p, digits, n);
    p += n;
    *p++ = '.';
    memcpy(p, digits + n, k - n);
    p += k - n;
  } else if (-6 < n && n <= 0) {
    *p++ = '0';
    *p++ = '.';
    for (int j = n; j < 0; j++) *p++ = '0';
    memcpy(p, digits, k);
    p += k;
  } else {
    *p++ = static_cast<uint8_t>(digits[0]);
    if (k > 1) {
      *p++ = '.';
      memcpy(p, digits + 1, k - 1);
      p += k - 1;
    }
    *p++ = 'e';
    *p++ = n - 1 < 0 ? '-' : '+';
    p = Digits(p, static_cast<uint64_t>(std::abs(n - 1)));
  }
  return p;
}

// metrics-lines.ts writeValue: integers below 2^53 exactly, other finite values below 1e9 to six
// decimals without trailing zeros (the fraction rounded half up, as Math.round), the rest as
// JavaScript writes them. At most 32 bytes.
inline uint8_t* Value(uint8_t* p, double v) {
  if (v == std::trunc(v) && v > -9007199254740992.0 && v < 9007199254740992.0) {
    if (v < 0) *p++ = '-';
    return Digits(p, static_cast<uint64_t>(std::fabs(v)));
  }
  if (!(v > -1e9 && v < 1e9)) return JsNumber(p, v);
  const double x = std::fabs(v) * 1e6;
  double r = std::floor(x);
  if (x - r >= 0.5) r += 1;
  const uint64_t q = static_cast<uint64_t>(r);
  if (q == 0) {
    *p = '0';
    return p + 1;
  }
  if (v < 0) *p++ = '-';
  p = Digits(p, q / 1000000);
  uint64_t frac = q % 1000000;
  if (frac == 0) return p;
  int digits = 6;
  while (frac % 10 == 0) {
    frac /= 10;
    digits--;
  }
  *p = '.';
  uint8_t* end = p + 1 + digits;
  for (uint8_t* d = end - 1; d > p; d--) {
    *d = static_cast<uint8_t>('0' + frac % 10);
    frac /= 10;
  }
  return end;
}

Napi::Value WriteMetricLines(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* buf = nullptr;
  const uint8_t* labels = nullptr;
  const int32_t* starts = nullptr;
  int32_t* labelAt = nullptr;
  const uint8_t* prefix = nullptr;
  const uint8_t* suffixes = nullptr;
  const int32_t* suffixAt = nullptr;
  const uint8_t* pick8 = nullptr;
  const int32_t* pick32 = nullptr;
  const double* values = nullptr;
  size_t bufLen = 0, labelsLen = 0, startsLen = 0, n = 0, prefixLen = 0, suffixesLen = 0, suffixAtLen = 0, pickLen = 0, valuesLen = 0;
  auto usage = [&]() {
    wirekit::CodedError(env, "EINVAL",
                        "writeMetricLines(buf: Uint8Array, pos, labels: Uint8Array, starts: Int32Array, labelAt: Int32Array, first, "
                        "prefix: Uint8Array, suffixes: Uint8Array, suffixAt: Int32Array, pick: Uint8Array | Int32Array | null, "
                        "values: Float64Array | null, stride, m)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  };
  if (info.Length() < 13 || !wirekit::TypedArrayOf(env, info[0], napi_uint8_array, &buf, &bufLen) || !info[1].IsNumber() ||
      !wirekit::TypedArrayOf(env, info[2], napi_uint8_array, &labels, &labelsLen) || !wirekit::TypedArrayOf(env, info[3], napi_int32_array, &starts, &startsLen) ||
      !wirekit::TypedArrayOf(env, info[4], napi_int32_array, &labelAt, &n) || !info[5].IsBoolean() ||
      !wirekit::TypedArrayOf(env, info[6], napi_uint8_array, &prefix, &prefixLen) || !wirekit::TypedArrayOf(env, info[7], napi_uint8_array, &suffixes, &suffixesLen) ||
      !wirekit::TypedArrayOf(env, info[8], napi_int32_array, &suffixAt, &suffixAtLen) || !info[11].IsNumber() || !info[12].IsNumber())
    return usage();
  if (!info[9].IsNull() && !wirekit::TypedArrayOf(env, info[9], napi_uint8_array, &pick8, &pickLen) &&
      !wirekit::TypedArrayOf(env, info[9], napi_int32_array, &pick32, &pickLen))
    return usage();
  if (!info[10].IsNull() && !wirekit::TypedArrayOf(env, info[10], napi_float64_array, &values, &valuesLen)) return usage();
  const int64_t pos = info[1].As<Napi::Number>().Int64Value();
  const int64_t stride = info[11].As<Napi::Number>().Int64Value();
  const int64_t m = info[12].As<Napi::Number>().Int64Value();
  const bool first = info[5].As<Napi::Boolean>().Value();
  const bool hasPick = pick8 != nullptr || pick32 != nullptr;
  if (pos < 0 || static_cast<uint64_t>(pos) > bufLen || startsLen < n + 1 || suffixAtLen < 1 || (hasPick && pickLen < n) ||
      (values != nullptr && (stride < 1 || m < 0 || m >= stride || valuesLen / static_cast<uint64_t>(stride) < n)))
    return usage();
  // Every suffix range inside `suffixes`, checked once rather than per line.
  size_t longest = 0;
  for (size_t k = 0; k + 1 < suffixAtLen; k++) {
    if (suffixAt[k] < 0 || suffixAt[k] > suffixAt[k + 1] || static_cast<size_t>(suffixAt[k + 1]) > suffixesLen) return usage();
    longest = std::max(longest, static_cast<size_t>(suffixAt[k + 1] - suffixAt[k]));
  }
  const int64_t suffixCount = static_cast<int64_t>(suffixAtLen) - 1;
  size_t p = static_cast<size_t>(pos);
  for (size_t i = 0; i < n; i++) {
    double v = 0;
    if (values != nullptr) {
      v = values[i * stride + m];
      if (std::isnan(v)) continue;
    }
    const int64_t k = pick8 != nullptr ? pick8[i] : pick32 != nullptr ? pick32[i] : 0;
    if (k < 0) continue;
    if (k >= suffixCount) return usage();
    const int64_t a = starts[i];
    const int64_t len = static_cast<int64_t>(starts[i + 1]) - 1 - a;
    if (a < 0 || len < 0 || static_cast<uint64_t>(a + len) > labelsLen) return usage();
    if (p + prefixLen + len + longest + 34 > bufLen) {
      wirekit::CodedError(env, "ERANGE", "writeMetricLines: no room in buf for the next line").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    memcpy(buf + p, prefix, prefixLen);
    p += prefixLen;
    if (first) {
      labelAt[i] = static_cast<int32_t>(p);
      memcpy(buf + p, labels + a, len);
    } else {
      const int64_t at = labelAt[i];
      // The label must lie in what this call's caller already wrote: before this line.
      if (at < 0 || static_cast<uint64_t>(at + len) > p) return usage();
      memmove(buf + p, buf + at, len);
    }
    p += len;
    const size_t sl = suffixAt[k + 1] - suffixAt[k];
    memcpy(buf + p, suffixes + suffixAt[k], sl);
    p += sl;
    if (values != nullptr) {
      p = Value(buf + p, v) - buf;
      buf[p++] = '\n';
    }
  }
  return Napi::Number::New(env, static_cast<double>(p));
}

}  // namespace

// Called from icmp_socket.cc's module Init.
void InitMetricsText(Napi::Env env, Napi::Object exports) {
  exports.Set("writeMetricLines", Napi::Function::New(env, WriteMetricLines, "writeMetricLines"));
}

/**
 * The load generator, as C source compiled at bench time (gcc, -lcrypto for the MACs), and the
 * lab's heartbeat server in Python, the reference both are measured against.
 *
 * The flooder sends `<seq> <timestamp> id=c<N> run=bench[ mac=<hex>]` from `clients` simulated
 * clients, round-robin, in sendmmsg() batches of 64. Rate 0 offers as many as it can (far more
 * than a server on one core processes: the server's own count is the figure); a rate R paces
 * R heartbeats per second, so `clients` at R = clients is every client beating once a second.
 * With a key prefix P each client N signs with the secret `P<N>` (HMAC-SHA256 over the scheme of
 * src/udp/heartbeat/protocol.ts). SIGTERM stops it; it prints `<sent> <seconds>`.
 */
export const FLOOD_C = String.raw`
#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define CONTEXT "wirekit-heartbeat-mac-v1\n"
static volatile sig_atomic_t stop = 0;
static void on_term(int s) { (void)s; stop = 1; }
static double now_s(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc != 7) { fprintf(stderr, "usage: flood HOST PORT CLIENTS SECONDS RATE KEYPREFIX|-\n"); return 2; }
  int clients = atoi(argv[3]);
  double seconds = atof(argv[4]);
  double rate = atof(argv[5]);
  const char *prefix = strcmp(argv[6], "-") == 0 ? NULL : argv[6];
  signal(SIGTERM, on_term);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
  inet_pton(AF_INET, argv[1], &to.sin_addr);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("connect"); return 1; }
  int small = 4096; /* replies are not read: keep their buffer small */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  static char buf[BATCH][256];
  static char signed_text[256];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  unsigned long long counter = 0, sent = 0;
  double start = now_s(CLOCK_MONOTONIC), end = start + seconds;
  while (!stop) {
    double t = now_s(CLOCK_MONOTONIC);
    if (t >= end) break;
    if (rate > 0) {
      double due = start + counter / rate;
      if (due > t) { struct timespec d = { 0, (long)((due - t) * 1e9) }; nanosleep(&d, NULL); continue; }
    }
    double ts = now_s(CLOCK_REALTIME);
    for (int j = 0; j < BATCH; j++, counter++) {
      unsigned long long seq = counter / clients + 1;
      int id = (int)(counter % clients);
      int len = snprintf(buf[j], 200, "%llu %.6f id=c%d run=bench", seq, ts, id);
      if (prefix != NULL) {
        char key[64];
        int klen = snprintf(key, sizeof key, "%s%d", prefix, id);
        int slen = snprintf(signed_text, sizeof signed_text, CONTEXT "%s", buf[j]);
        unsigned char mac[32];
        unsigned int mlen = 0;
        /* One context and one digest for the whole run: OpenSSL 3's one-shot HMAC() looks the digest up each time, several µs. */
        static HMAC_CTX *ctx = NULL;
        static const EVP_MD *md = NULL;
        if (ctx == NULL) { ctx = HMAC_CTX_new(); md = EVP_sha256(); }
        HMAC_Init_ex(ctx, key, klen, md, NULL);
        HMAC_Update(ctx, (unsigned char *)signed_text, slen);
        HMAC_Final(ctx, mac, &mlen);
        static const char hex[] = "0123456789abcdef";
        memcpy(buf[j] + len, " mac=", 5);
        len += 5;
        for (unsigned int k = 0; k < mlen; k++) { buf[j][len++] = hex[mac[k] >> 4]; buf[j][len++] = hex[mac[k] & 15]; }
      }
      iov[j].iov_base = buf[j];
      iov[j].iov_len = len;
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n > 0) sent += n;
    /* ECONNREFUSED from an earlier ICMP error, or a full buffer: just go on */
  }
  printf("%llu %.3f\n", sent, now_s(CLOCK_MONOTONIC) - start);
  return 0;
}
`;

/**
 * The lab's heartbeat server (the UDP pinger lab's optional task: the client sends a sequence
 * number and a timestamp, the server computes the time difference, reports lost heartbeats and
 * answers), written here from the assignment's facts and keyed by client id so 100 000 clients
 * behind one address are told apart. `python3 -c PY_SERVER keys PREFIX` also checks each
 * heartbeat's HMAC-SHA256 with hmac.compare_digest (a reference for wirekit's --keys; the lab
 * has no such part). SIGUSR1 prints `count <n> <monotonic s> <cpu s>`.
 */
export const PY_SERVER = String.raw`
import hmac, hashlib, os, signal, socket, sys, time
keyed = len(sys.argv) > 2 and sys.argv[1] == "keys"
prefix = sys.argv[2].encode() if keyed else b""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("127.0.0.1", 0))
count = 0
refused = 0
last = {}
lost = 0
def report(signum, frame):
    t = os.times()
    print("count", count, time.monotonic(), t.user + t.system, flush=True)
signal.signal(signal.SIGUSR1, report)
print("port", s.getsockname()[1], flush=True)
out = open("/dev/null", "w")
while True:
    data, addr = s.recvfrom(1024)
    try:
        parts = data.split()
        seq = int(parts[0])
        ts = float(parts[1])
    except (ValueError, IndexError):
        continue
    key = addr
    for p in parts[2:]:
        if p.startswith(b"id="):
            key = p[3:]
    if keyed:
        body, sep, mac = data.rpartition(b" mac=")
        want = hmac.new(prefix + key[1:], b"wirekit-heartbeat-mac-v1\n" + body, hashlib.sha256).hexdigest().encode()
        if not sep or not hmac.compare_digest(want, mac):
            refused += 1
            continue
    diff = time.time() - ts
    prev = last.get(key)
    if prev is not None and seq > prev + 1:
        lost += seq - prev - 1
        print("lost", prev + 1, "-", seq - 1, "from", key, file=out)
    last[key] = seq
    count += 1
    s.sendto(("%d %f" % (seq, diff)).encode(), addr)
`;

/**
 * The load generator, as C source compiled at bench time: floods a heartbeat monitor with
 * `<seq> <timestamp> id=c<N> run=bench` from `clients` simulated clients, round-robin, with
 * sendmmsg() batches of 64 — so it can offer far more heartbeats per second than a server on
 * one core can process, and the server is what gets measured.
 */
export const FLOOD_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
static double now_s(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: flood HOST PORT CLIENTS SECONDS\n"); return 2; }
  int clients = atoi(argv[3]);
  double seconds = atof(argv[4]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
  inet_pton(AF_INET, argv[1], &to.sin_addr);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("connect"); return 1; }
  int small = 4096; /* replies are not read: keep their buffer small */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  static char buf[BATCH][128];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  unsigned long long counter = 0, sent = 0;
  double end = now_s(CLOCK_MONOTONIC) + seconds;
  while (now_s(CLOCK_MONOTONIC) < end) {
    double ts = now_s(CLOCK_REALTIME);
    for (int j = 0; j < BATCH; j++, counter++) {
      unsigned long long seq = counter / clients + 1;
      int id = (int)(counter % clients);
      int len = snprintf(buf[j], sizeof buf[j], "%llu %.6f id=c%d run=bench", seq, ts, id);
      iov[j].iov_base = buf[j];
      iov[j].iov_len = len;
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n > 0) sent += n;
    /* ECONNREFUSED from an earlier ICMP error, or a full buffer: just go on */
  }
  printf("%llu\n", sent);
  return 0;
}
`;

/** The lab-style Python heartbeat server: the assignment's server, keyed by client id. */
export const PY_SERVER = String.raw`
import os, signal, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("127.0.0.1", 0))
count = 0
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
    diff = time.time() - ts
    prev = last.get(key)
    if prev is not None and seq > prev + 1:
        lost += seq - prev - 1
        print("lost", prev + 1, "-", seq - 1, "from", key, file=out)
    last[key] = seq
    count += 1
    s.sendto(("%d %f" % (seq, diff)).encode(), addr)
`;

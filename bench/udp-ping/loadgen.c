/* Load generator: keeps WINDOW pings in flight against HOST:PORT for SECONDS, prints replies/s.
 * A lost datagram (receive timeout) resets the window so the generator never stalls. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: loadgen PORT SECONDS WINDOW WARMUP\n"); return 2; }
  int port = atoi(argv[1]);
  double seconds = atof(argv[2]), warmup = atof(argv[4]);
  int window = atoi(argv[3]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct timeval tv = {.tv_sec = 0, .tv_usec = 20000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  connect(fd, (struct sockaddr *)&a, sizeof a);
  char msg[64], buf[2048];
  long seq = 0, replies = 0, counted = 0, timeouts = 0;
  int inflight = 0;
  double start = now(), measureFrom = start + warmup, end = measureFrom + seconds;
  for (;;) {
    while (inflight < window) {
      int len = snprintf(msg, sizeof msg, "Ping %ld 2026-11-23 12:00:00.000", ++seq);
      if (send(fd, msg, len, 0) >= 0) inflight++;
      else break;
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    double t = now();
    if (n < 0) { inflight = 0; timeouts++; }
    else {
      inflight--;
      replies++;
      if (t >= measureFrom) counted++;
    }
    if (t >= end) break;
  }
  printf("%.0f %ld\n", counted / seconds, timeouts);
  return 0;
}

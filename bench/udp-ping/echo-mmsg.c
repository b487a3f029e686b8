/* Reference UDP echo server: recvmmsg/sendmmsg batches of 64, upper-cases like the lab's server. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 64
#define BUFSZ 2048

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
  socklen_t al = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &al);
  printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
  fflush(stdout);
  static char bufs[BATCH][BUFSZ];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = BUFSZ;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    for (int i = 0; i < n; i++) {
      char *p = bufs[i];
      for (unsigned j = 0; j < msgs[i].msg_len; j++) if (p[j] >= 'a' && p[j] <= 'z') p[j] -= 32;
      iov[i].iov_len = msgs[i].msg_len;
    }
    sendmmsg(fd, msgs, n, 0);
  }
}

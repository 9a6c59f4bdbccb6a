/* The floor for a hub: accepts one reading client on DOWN_PORT and one
 * raw_dock on UP_PORT, then forwards every byte from the dock to the
 * client (64 KiB reads, blocking writes) until either side goes.
 *
 *   raw_relay UP_PORT DOWN_PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr*)&a, sizeof a) != 0 || listen(s, 4) != 0) {
    perror("raw_relay: listen");
    exit(1);
  }
  return s;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: raw_relay UP_PORT DOWN_PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int up_l = listen_on(atoi(argv[1]));
  int down_l = listen_on(atoi(argv[2]));
  printf("listening\n");
  fflush(stdout);
  int down = accept(down_l, NULL, NULL);
  int up = accept(up_l, NULL, NULL);
  int one = 1;
  setsockopt(down, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static char buf[65536];
  for (;;) {
    ssize_t n = read(up, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(down, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return 0;
      off += w;
    }
  }
  return 0;
}

/* The floor for a dock: starts the writer with its stdout on a pipe, reads
 * that pipe (64 KiB at a time, as the dock's receive buffers) and writes
 * what it read to a TCP socket, blocking. No framing, no subscriptions, no
 * reactor: the same hops as a dock with nothing but the copies the kernel
 * makes.
 *
 *   raw_dock RELAY_PORT WRITER SIZE
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

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: raw_dock RELAY_PORT WRITER SIZE\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  if (pipe(p) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);
    execl(argv[2], argv[2], argv[3], (char*)NULL);
    _exit(127);
  }
  close(p[1]);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
    perror("raw_dock: connect");
    kill(child, SIGKILL);
    return 1;
  }
  static char buf[65536];
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(s, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        kill(child, SIGKILL);
        return 0;
      }
      off += w;
    }
  }
  kill(child, SIGKILL);
  return 0;
}

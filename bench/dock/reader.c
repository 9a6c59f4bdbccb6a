/* The benchmark's client: receives a service's output and measures it.
 *
 *   reader raw PORT [options]
 *       bytes straight from raw_relay
 *   reader hms PORT SERVICE START DEPLOYED [options]
 *       connects to a hub with CONNECT, handshakes as a client, adds
 *       SERVICE with START, subscribes to it, and syncs it with DEPLOYED
 *       (the hub places and starts it on a dock); then counts the payload
 *       of its stdout/stderr frames.
 *   options: --warmup S (1) --duration S (3) --cpu-pid PID (repeatable)
 *            --no-lines (count bytes only)
 *
 * After the first byte, `warmup` seconds pass, then bytes (and lines: '\n'
 * in the payload) are counted for `duration` seconds. Prints
 *   metric bytes_per_s X / metric lines_per_s X / metric bytes X
 * and for each --cpu-pid the CPU time that process used in the window:
 *   metric cpu_s_PID X / metric cpu_s_per_gb_PID X
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_of(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  /* after ')': state(3) ... utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void send_all(int s, const void* p, size_t n) {
  const char* c = p;
  while (n) {
    ssize_t w = send(s, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      perror("reader: send");
      exit(1);
    }
    c += w;
    n -= (size_t)w;
  }
}

/* One hms request frame: type 1, request id, opcode, id, payload. */
static void request(int s, uint16_t rid, uint8_t op, const char* id, const char* payload) {
  size_t idlen = strlen(id), plen = payload ? strlen(payload) : 0;
  uint32_t body = (uint32_t)(3 + idlen + plen);
  unsigned char h[10];
  h[0] = 1;
  h[1] = (unsigned char)(rid & 0xff);
  h[2] = (unsigned char)(rid >> 8);
  memcpy(h + 3, &body, 4);
  h[7] = op;
  h[8] = (unsigned char)(idlen & 0xff);
  h[9] = (unsigned char)(idlen >> 8);
  send_all(s, h, 10);
  send_all(s, id, idlen);
  if (plen) send_all(s, payload, plen);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: reader raw PORT | reader hms PORT SERVICE START DEPLOYED [options]\n");
    return 2;
  }
  int hms = strcmp(argv[1], "hms") == 0;
  int port = atoi(argv[2]);
  int first_opt = hms ? 6 : 3;
  if (hms && argc < 6) return 2;
  double warmup = 1, duration = 3;
  int pids[8], npids = 0, lines_on = 1;
  for (int i = first_opt; i < argc; ++i) {
    if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atof(argv[++i]);
    else if (!strcmp(argv[i], "--duration") && i + 1 < argc) duration = atof(argv[++i]);
    else if (!strcmp(argv[i], "--cpu-pid") && i + 1 < argc && npids < 8) pids[npids++] = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--no-lines")) lines_on = 0;
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* Nothing waits for ever: no byte for 20 s ends the run. */
  struct timeval tv = {20, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
    perror("reader: connect");
    return 1;
  }
  static unsigned char buf[1 << 20];
  size_t have = 0;
  if (hms) {
    char head[256];
    snprintf(head, sizeof head, "CONNECT / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: keep-alive\r\n\r\n", port);
    send_all(s, head, strlen(head));
    /* The 101 head, then frames. */
    for (;;) {
      ssize_t n = recv(s, buf + have, sizeof buf - have, 0);
      if (n <= 0) {
        fprintf(stderr, "reader: no answer to CONNECT\n");
        return 1;
      }
      have += (size_t)n;
      unsigned char* e = memmem(buf, have, "\r\n\r\n", 4);
      if (e) {
        size_t used = (size_t)(e + 4 - buf);
        memmove(buf, buf + used, have - used);
        have -= used;
        break;
      }
    }
    char json[4096];
    request(s, 0, 0, "", "{\"type\":\"client\",\"version\":\"bench\",\"protocol\":1}");
    snprintf(json, sizeof json, "{\"start\":\"%s\"}", argv[4]);
    request(s, 1, 1, argv[3], json);
    request(s, 2, 10, argv[3], NULL);
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"start\":\"%s\",\"deployed\":\"%s\"}", argv[3], argv[4], argv[5]);
    request(s, 3, 9, argv[3], json);
  }

  double t_first = 0, t_start = 0, t_end = 0;
  double cpu0[8] = {0};
  unsigned long long bytes = 0, lines = 0;
  int measuring = 0, done = 0;
  size_t need_skip = 0;   /* payload bytes of the current frame still to come (hms) */
  int counting = 0;       /* the current frame is output */
  for (;;) {
    ssize_t n = recv(s, buf + have, sizeof buf - have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "reader: connection ended before the window closed\n");
      return 1;
    }
    double t = now();
    if (!t_first) {
      t_first = t;
      t_start = t_first + warmup;
      t_end = t_start + duration;
    }
    if (!measuring && t >= t_start) {
      measuring = 1;
      for (int i = 0; i < npids; ++i) cpu0[i] = cpu_of(pids[i]);
      t_start = t;
      t_end = t + duration;
    }
    have += (size_t)n;
    size_t off = 0;
    if (!hms) {
      if (measuring) {
        bytes += have;
        if (lines_on)
          for (unsigned char* p = buf; (p = memchr(p, '\n', (size_t)(buf + have - p))); ++p) ++lines;
      }
      have = 0;
    } else {
      while (off < have) {
        if (need_skip) {
          size_t k = have - off < need_skip ? have - off : need_skip;
          if (counting && measuring) {
            bytes += k;
            if (lines_on)
              for (unsigned char* p = buf + off; (p = memchr(p, '\n', (size_t)(buf + off + k - p))); ++p) ++lines;
          }
          off += k;
          need_skip -= k;
          continue;
        }
        if (have - off < 10) break;
        uint32_t body;
        memcpy(&body, buf + off + 3, 4);
        unsigned char type = buf[off];
        if (type == 3) {
          /* An error reply: say what went wrong (the whole frame is small). */
          if (have - off < 7 + body) break;
          fprintf(stderr, "reader: the hub answered request %u with: %.*s\n", buf[off + 1], (int)body,
                  (const char*)buf + off + 7);
          return 1;
        }
        if (type == 4) { /* ping: answer at once */
          unsigned char r[7] = {2, buf[off + 1], buf[off + 2], 0, 0, 0, 0};
          send_all(s, r, 7);
          off += 7;
          continue;
        }
        if (type == 2) {
          if (have - off < 7 + body) break;
          if (done && buf[off + 1] == 4) {
            /* The ps reply after the window: the dock's own counters. */
            const char* keys[] = {"copiedBytes", "droppedBytes", "framesSent"};
            const char* names[] = {"copied_bytes", "dropped_bytes", "frames_sent"};
            for (int k = 0; k < 3; ++k) {
              char pat[32];
              snprintf(pat, sizeof pat, "\"%s\":", keys[k]);
              const char* at = memmem(buf + off + 7, body, pat, strlen(pat));
              if (at) printf("metric %s %lld\n", names[k], atoll(at + strlen(pat)));
            }
            return 0;
          }
          off += 7 + body;
          continue;
        }
        uint16_t idlen = (uint16_t)(buf[off + 8] | (buf[off + 9] << 8));
        if (have - off < 10u + idlen) break;
        unsigned char op = buf[off + 7];
        counting = op == 12 || op == 13;
        need_skip = body - 3 - idlen;
        off += 10u + idlen;
      }
      memmove(buf, buf + off, have - off);
      have -= off;
    }
    if (measuring && t >= t_end) {
      double span = t - t_start;
      printf("metric bytes %llu\n", bytes);
      printf("metric bytes_per_s %.0f\n", (double)bytes / span);
      if (lines_on) printf("metric lines_per_s %.0f\n", (double)lines / span);
      for (int i = 0; i < npids; ++i) {
        double c = cpu_of(pids[i]) - cpu0[i];
        printf("metric cpu_s_%d %.3f\n", pids[i], c);
        if (bytes) printf("metric cpu_s_per_gb_%d %.3f\n", pids[i], c / ((double)bytes / 1e9));
      }
      printf("metric window_s %.3f\n", span);
      fflush(stdout);
      if (!hms) return 0;
      /* Ask the hub's ps for the dock's counters; output keeps coming
         meanwhile and is skipped. */
      done = 1;
      measuring = 0;
      t_start = t_end = 1e300;
      request(s, 4, 5, "", NULL);
    }
  }
}

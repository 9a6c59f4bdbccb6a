/* The benchmark's service: writes SIZE-byte chunks to stdout as fast as it
 * can, one write(2) each, until killed (or its reader goes: SIGPIPE).
 * Every chunk is made of 64-byte lines ("line ...\n"), so a reader can count
 * lines whatever the chunk size. SIZE is 64 (one line per write) or a
 * multiple of 64 (65536: 1024 lines per write).
 *
 *   writer SIZE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  size_t size = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 64;
  if (size < 64 || size % 64 != 0) {
    fprintf(stderr, "writer: SIZE must be a multiple of 64\n");
    return 2;
  }
  char* buf = malloc(size);
  if (!buf) return 1;
  for (size_t off = 0; off < size; off += 64) {
    memset(buf + off, 'x', 63);
    memcpy(buf + off, "line ", 5);
    buf[off + 63] = '\n';
  }
  for (;;) {
    size_t done = 0;
    while (done < size) {
      ssize_t n = write(1, buf + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;
      done += (size_t)n;
    }
  }
}

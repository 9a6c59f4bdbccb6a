// tarball (the reference's commands/tarball.js): GET /<id> from the hub,
// the .tgz to --out or stdout, nothing printed on success; the answer's
// body is the error otherwise ("Service not found", "No builds found").
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "commands.hpp"
#include "http_client.hpp"
#include "ssh_tunnel.hpp"
#include "text.hpp"

namespace hms::cli {

int cmd_tarball(Context& cx) {
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  if (id.empty()) return cx.term.fail("Service name required");

  std::unique_ptr<SshTunnel> tunnel;
  auto route = route_to(remote.value(), cx.timeouts, &tunnel);
  if (!route) return cx.term.fail(route.error());
  auto http = HttpClient::connect(route.value(), after(cx.timeouts.connect));
  if (!http) return cx.term.fail(http.error());
  HttpClient& c = http.value();
  if (auto w = c.send("GET /" + uri_encode(id) + " HTTP/1.1\r\nHost: " + route->host_header +
                      "\r\nConnection: keep-alive\r\n\r\n");
      !w)
    return cx.term.fail(w.error());
  auto head = c.read_head(cx.timeouts.transfer_idle);
  if (!head) return cx.term.fail(head.error());
  if (head->status != 200) {
    auto text = c.read_text(head.value(), cx.timeouts.transfer_idle, 64 << 10);
    std::string msg = text ? text.value() : text.error();
    if (msg.empty()) msg = "Request failed with status " + std::to_string(head->status);
    return cx.term.fail(msg);
  }

  int fd = STDOUT_FILENO;
  const std::string out = cx.args.out.value_or("");
  if (!out.empty()) {
    fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return cx.term.fail(fs_error(errno, "open", out));
  }
  std::string werr;
  auto body = c.read_body(head.value(), cx.timeouts.transfer_idle, [&](std::string_view piece) {
    if (Term::write_all(fd, piece.data(), piece.size())) return true;
    werr = fs_error(errno, "write", out.empty() ? "stdout" : out);
    return false;
  });
  if (fd != STDOUT_FILENO && ::close(fd) != 0 && werr.empty()) werr = fs_error(errno, "close", out);
  if (!werr.empty() || !body) {
    if (!out.empty()) ::unlink(out.c_str());  // no half tarball left behind
    return cx.term.fail(werr.empty() ? body.error() : werr);
  }
  return 0;
}

}  // namespace hms::cli

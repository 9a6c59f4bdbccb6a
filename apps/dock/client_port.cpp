#include "dock/client_port.hpp"

#include "dock/commands.hpp"
#include "dock/outputs.hpp"
#include "hms/log.hpp"
#include "hms/peer.hpp"
#include "hms/reactor.hpp"

namespace hms::dock {

namespace {

// Takes over plain HTTP requests: the bytes after the head are ignored.
class Ignore final : public ConnectionHandler {
 public:
  void on_frame(Connection&, const FrameView&, const BufRef&) override {}
  void on_close(Connection&, const CloseInfo&) override {}
};
Ignore g_ignore;

std::string http_answer(int status, const char* reason, std::string_view body) {
  // No Content-Type, as the reference dock's answers.
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  out.append(body);
  return out;
}

}  // namespace

std::uint16_t ClientPort::listen() {
  ListenOptions lo;
  lo.http_takeover = [](Connection& c, const HttpRequest& req) {
    c.set_handler(&g_ignore);
    const bool root = (req.head.method == HttpMethod::get || req.head.method_text == "HEAD") &&
                      (req.head.target == "/" || req.head.target.substr(0, 2) == "/?");
    const std::string text = root ? http_answer(200, "OK", std::string("hms-dock ") + kDockVersion + "\n")
                                  : http_answer(404, "Not Found", "Cannot deploy to a dock");
    c.send_copy(text.data(), req.head.method_text == "HEAD" ? text.find("\r\n\r\n") + 4 : text.size());
    c.close();
    return true;
  };
  Context& ctx = ctx_;
  Commands& commands = commands_;
  auto endpoint = ctx_.opts.address.find(':') != std::string::npos
                      ? "[" + ctx_.opts.address + "]:" + std::to_string(ctx_.opts.port)
                      : ctx_.opts.address + ":" + std::to_string(ctx_.opts.port);
  listener_ = &ctx_.reactor.listen(endpoint, lo, [&ctx, &commands](Connection& c) {
    auto peer = Peer::attach(c);
    Peer* raw = peer.get();
    peer->on_close([&ctx, raw](const CloseInfo&) { ctx.outputs.clear(*raw); });
    peer->on(Opcode::handshake, [&ctx, &commands](Peer& p, const Message& m, Reply r) {
      auto hs = parse_handshake_copy(ctx.parser, m.payload);
      if (!hs || !hs.value->protocol || *hs.value->protocol != 1)
        return r.error("Server and client do not speak the same protocol");
      if (hs.value->type != "client") return r.error("Invalid handshake");
      // The reference's `once('handshake')`: a second one is not supported.
      p.set_handlers(commands.table(false));
      std::string me = ctx.handshake_json();
      me.insert(me.size() - 1, ",\"protocol\":1");
      r.ok(me);
    });
  });
  return ctx_.reactor.listen_port(*listener_);
}

void ClientPort::close() {
  if (listener_) ctx_.reactor.close_listener(*listener_);
  listener_ = nullptr;
}

}  // namespace hms::dock

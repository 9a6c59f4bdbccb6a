// deploy (the reference's commands/deploy.js), in its order:
//
//   Deploying <dir> to <id>
//   [-] Creating tarball            (or: Extracting tarball from F,
//                                         Reading tarball from stdin,
//                                         Downloading tarball from URL)
//   [-] Connecting to remote        (and subscribe to <id>)
//   [-] Uploading <id>              (PUT, build output as " #  <line>")
//   [-] Syncing <id>                (sync <id> null)
//   [-] Restarting <id>             (restart <id>, then ps)
//   Forwarding <id> output          (unless --no-log; exits 1 when no dock
//                                    runs it)
//
// --retry runs it all again after a failure, up to 5 more times, 1 s apart.
// Unlike the reference, --url works (http:// only) and the connection is
// opened while the tarball is made (the reference starts it too, but the
// two never overlap in Node's single thread).
#include <unistd.h>

#include <climits>
#include <future>
#include <thread>

#include "commands.hpp"
#include "deploy_steps.hpp"
#include "log_tail.hpp"
#include "pack.hpp"
#include "spinner.hpp"

namespace hms::cli {

using namespace std::chrono_literals;

namespace {

struct Attempt {
  TempFile tmp;             // kept across retries (--stdin reads stdin once)
  bool have_stdin = false;
};

std::string current_dir() {
  char buf[PATH_MAX];
  return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string(".");
}

std::string basename_of(const std::string& path) {
  if (path == "/") return "";
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The tarball to upload, made or found; "" after printing why not.
std::string tarball(Context& cx, const std::string& id, const std::string& repo, std::optional<std::string>& rev,
                    Attempt& at) {
  const Args& a = cx.args;
  if (a.file) {
    Spinner spin(cx.term, "Extracting tarball from " + *a.file);
    auto f = check_file(*a.file);
    if (!f) {
      spin.fail(f.error());
      return {};
    }
    spin.ok();
    return *a.file;  // uploaded as it is, no copy
  }
  if (at.tmp.path().empty()) {
    if (auto made = at.tmp.create(id); !made) {
      cx.term.fail(made.error());
      return {};
    }
  }
  if (a.url) {
    Spinner spin(cx.term, "Downloading tarball from " + *a.url);
    auto got = download(*a.url, at.tmp.path(), cx.timeouts.transfer_idle);
    if (!got) {
      spin.fail(got.error());
      return {};
    }
    spin.ok();
    return at.tmp.path();
  }
  if (a.from_stdin) {
    Spinner spin(cx.term, "Reading tarball from stdin");
    if (!at.have_stdin) {
      auto got = copy_stdin(at.tmp.path());
      if (!got) {
        spin.fail(got.error());
        return {};
      }
      at.have_stdin = true;
    }
    spin.ok();
    return at.tmp.path();
  }
  if (!rev && !repo.empty()) rev = git_describe();
  Spinner spin(cx.term, "Creating tarball");
  const IgnoreRules rules = a.no_ignore ? IgnoreRules::none() : IgnoreRules::for_directory(".");
  auto packed = pack_directory(".", rules, at.tmp.path());
  if (!packed) {
    spin.fail(packed.error());
    return {};
  }
  spin.ok();
  return at.tmp.path();
}

int deploy_once(Context& cx, const Remote& remote, const std::string& id, Attempt& at) {
  const Args& a = cx.args;
  const std::string cwd = current_dir();
  const std::string repo = (!a.from_stdin && !a.url) ? find_git_root(cwd) : std::string();
  if (!repo.empty() && repo != cwd && !a.force)
    return cx.term.fail("You are in a git repo but not at the root. Use --force to ignore");
  std::optional<std::string> rev = a.revision;

  // Connect while the tarball is made; through ssh, first (the tunnel's
  // ssh dies with the thread that started it: see ssh_tunnel.hpp).
  auto opening = std::async(remote.ssh ? std::launch::deferred : std::launch::async,
                            [&] { return Link::open(remote, cx.timeouts, true); });
  cx.term.line("Deploying " + basename_of(cwd) + " to " + id + "\n");
  const std::string tgz = tarball(cx, id, repo, rev, at);
  auto opened = opening.get();
  if (tgz.empty()) return 1;

  std::unique_ptr<Link> link;
  {
    Spinner spin(cx.term, "Connecting to remote");
    if (!opened) return spin.fail(opened.error());
    link = std::move(opened.value());
    // Events from now on are dropped until the restart step: the reference
    // makes its log stream there.
    link->attach(std::make_shared<LogTail>(LogStyle{cx.term.color(), true, true, true}, LogTail::Mode::drop));
    const Reply sub = link->call(Opcode::subscribe, id, {}, &spin);
    if (!sub.ok) return spin.fail(sub.text);
    spin.ok();
  }

  if (upload_build(cx.term, link->route(), id, rev, tgz, cx.timeouts).kind != UploadResult::Kind::built) return 1;

  {
    Spinner spin(cx.term, "Syncing " + id);
    const Reply r = link->call(Opcode::sync, id, "null", &spin);
    if (spin.finish(r.ok, r.text)) return 1;
  }
  Spinner spin(cx.term, "Restarting " + id);
  link->set_tail_mode(LogTail::Mode::hold);
  const Reply r = link->call(Opcode::restart, id, {}, &spin);
  if (!r.ok) return spin.fail(r.text);
  const Reply ps = link->call(Opcode::ps, {}, {}, &spin);
  if (!ps.ok) return spin.fail(ps.text);
  spin.ok();
  if (a.no_log) return 0;

  bool running = false;
  JsParse p = parse_json(ps.text);
  if (p.ok() && p.value.is_array()) {
    for (const JsValue& dock : p.value.items()) {
      const JsValue* list = dock.is_object() ? dock.get("list") : nullptr;
      if (!list || !list->is_array()) continue;
      for (const JsValue& proc : list->items()) {
        const JsValue* pid = proc.is_object() ? proc.get("id") : nullptr;
        const JsValue* status = proc.is_object() ? proc.get("status") : nullptr;
        const bool stopped = status && status->is_string() && status->as_string() == "stopped";
        if (pid && pid->is_string() && pid->as_string() == id && !stopped) running = true;
      }
    }
  }
  if (!running) return cx.term.fail("Service does not match any docks. Exiting...\n");
  return forward_logs(cx, *link, id);
}

}  // namespace

int cmd_deploy(Context& cx) {
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  if (id.empty()) return cx.term.fail("Service name required");
  Attempt at;
  constexpr int kRetries = 5;
  for (int attempt = 0;; ++attempt) {
    const int rc = deploy_once(cx, remote.value(), id, at);
    if (rc == 0 || !cx.args.retry || attempt == kRetries) return rc;
    cx.term.line("\nCommand failed! Retrying " + std::to_string(attempt + 1) + "/5 ...\n");
    std::this_thread::sleep_for(1s);
  }
}

}  // namespace hms::cli

#include "dock/sync.hpp"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <system_error>

#include "dock/say.hpp"
#include "dock/store.hpp"
#include "dock/workers.hpp"
#include "hms/reactor.hpp"

namespace hms::dock {

namespace fs = std::filesystem;

namespace {

bool safe_part(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

// The request path for a service id: ids are alphanumericish, but escape
// whatever is not, so any id makes a valid request line.
std::string url_path(std::string_view id) {
  static const char* hex = "0123456789ABCDEF";
  std::string out = "/";
  for (unsigned char c : id) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace

bool Syncer::build_folder(const std::string& id, const Service& s, std::string* out, std::string* error) const {
  if (!s.deployed || s.deployed->empty()) {
    *error = "Service has no deployed build";
    return false;
  }
  std::string name = id + "@" + *s.deployed;
  for (char& c : name)
    if (c == ':') c = '-';
  if (!safe_part(id) || !safe_part(name)) {
    *error = "Service id or deploy time would name a folder outside builds/";
    return false;
  }
  *out = ctx_.opts.builds + "/" + name;
  return true;
}

void Syncer::store(const std::string& id, Service s, const std::string& cwd, Done done) {
  s.id = id;
  s.cwd = cwd;
  ctx_.store.put(s, [id, done = std::move(done)](bool ok, const std::string& error) {
    if (ok) say(id, "sync succeded");
    else say(id, "sync failed (" + error + ")");
    done(ok, error);
  });
}

void Syncer::sync(const std::string& id, Service s, Done done) {
  std::string cwd, error;
  if (!build_folder(id, s, &cwd, &error)) {
    say(id, "sync failed (" + error + ")");
    done(false, error);
    return;
  }
  std::error_code ec;
  if (fs::is_directory(cwd, ec)) {
    store(id, std::move(s), cwd, std::move(done));
    return;
  }
  say(id, "fetching build from remote");
  const std::string tmp = ctx_.opts.builds + "/.incoming-" + std::to_string(::getpid()) + "-" + std::to_string(++seq_);
  auto service = std::make_shared<Service>(std::move(s));
  auto reply = std::make_shared<Done>(std::move(done));
  Reactor* reactor = &ctx_.reactor;
  const HubAddress hub = ctx_.hub;
  const std::string origin = ctx_.id;
  const FetchLimits fl = fetch_;
  const UnpackLimits ul = unpack_;
  const std::atomic<bool>* cancel = &ctx_.io.cancelled();
  auto finish = [this, id, cwd, service, reply](bool ok, const std::string& why) {
    if (ok) {
      store(id, std::move(*service), cwd, std::move(*reply));
    } else {
      say(id, "sync failed (" + why + ")");
      (*reply)(false, why);
    }
  };
  const bool queued = ctx_.io.post([=] {
    std::string why;
    bool ok = false;
    std::error_code e;
    fs::create_directories(tmp, e);
    if (e) {
      why = "cannot create " + tmp + ": " + e.message();
    } else {
      HttpBody body;
      if (!body.open(hub, url_path(id), origin, fl, cancel)) {
        why = body.error();
      } else if (body.status() != 200) {
        why = "Could not fetch build";
      } else {
        const UnpackResult r = unpack_tar([&body](const void** data) { return body.next(data); },
                                          [&body] { return body.error(); }, tmp, ul);
        if (!r.ok) {
          why = r.error;
        } else {
          fs::rename(tmp, cwd, e);
          // Someone else's download of the same build won: theirs is as good.
          if (e && fs::is_directory(cwd)) e.clear();
          if (e) why = "cannot move the build into " + cwd + ": " + e.message();
          else ok = true;
        }
      }
    }
    if (fs::exists(tmp)) fs::remove_all(tmp, e);
    reactor->post([finish, ok, why] { finish(ok, why); });
  });
  if (!queued) finish(false, "too many downloads waiting");
}

void remove_build_folder(Workers& io, const std::string& builds, const std::string& cwd) {
  // Only what we made: a folder directly under builds/.
  const fs::path p(cwd);
  if (p.parent_path() != fs::path(builds) || !safe_part(p.filename().string())) return;
  io.post([cwd] {
    std::error_code e;
    fs::remove_all(cwd, e);
  });
}

}  // namespace hms::dock

// The hub's `sync`: the service's build folder is
// builds/<id>@<deployed> (':' written '-', as the reference names it). If
// the folder is there, the record is stored at once; otherwise the build
// is fetched from the hub (`GET /<id>`, a gzip'd tar), unpacked into a
// fresh hidden folder beside it and renamed into place, so a folder that
// exists is always complete. Then the hub's whole record is stored, with
// `cwd` pointing at the folder. Log lines as the reference's: "fetching
// build from remote", "sync succeded" (sic), "sync failed (<why>)".
//
// Downloads run on the io workers (bounded queue, deadlines in
// FetchLimits); their results come back to the reactor thread.
#pragma once

#include <string>

#include "dock/context.hpp"
#include "dock/fetch.hpp"
#include "archive/untar.hpp"

namespace hms::dock {

using archive::UnpackLimits;
using archive::UnpackResult;

class Workers;

class Syncer {
 public:
  explicit Syncer(Context& ctx, FetchLimits fetch = {}, UnpackLimits unpack = {})
      : ctx_(ctx), fetch_(fetch), unpack_(unpack) {}

  // `s` is the hub's record for `id`.
  void sync(const std::string& id, Service s, Done done);

  // builds/<id>@<deployed> with ':' as '-'; false when id or deployed could
  // escape the builds folder ('/', "..", NUL) or deployed is missing.
  bool build_folder(const std::string& id, const Service& s, std::string* out, std::string* error) const;

 private:
  void store(const std::string& id, Service s, const std::string& cwd, Done done);
  Context& ctx_;
  FetchLimits fetch_;
  UnpackLimits unpack_;
  std::uint64_t seq_ = 0;
};

// Deletes `cwd`, an older build folder directly under `builds`, on the io
// workers. Anything else is left alone.
void remove_build_folder(Workers& io, const std::string& builds, const std::string& cwd);

}  // namespace hms::dock

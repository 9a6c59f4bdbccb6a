// The deploy tarball: apps/archive's packer, with the deploy's ignore rules
// and the reference's wording for a failed system call.
#include "pack.hpp"

#include "archive/pack.hpp"
#include "text.hpp"

namespace hms::cli {

Outcome<PackStats> pack_directory(const std::string& dir, const IgnoreRules& ignore, const std::string& out_path) {
  const archive::PackResult r = archive::pack_directory(
      dir, out_path, [&ignore](std::string_view path, bool is_dir) { return !ignore.ignored(path, is_dir); });
  if (!r.ok) return Failure{r.err ? fs_error(r.err, r.syscall, r.path) : r.message};
  return PackStats{r.entries, r.bytes};
}

}  // namespace hms::cli

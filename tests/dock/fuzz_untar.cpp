// libFuzzer entry point for the dock's tarball unpacking (unpack_tar):
// any bytes, as a hub could send them. Each input is unpacked into a fresh
// folder inside a private root, with small limits; then the invariants are
// checked and any violation traps (so the corpus replay in ctest fails):
//   - nothing is written beside the folder (the root holds only it);
//   - a refused or failed archive says why (a non-empty error);
//   - the limits hold (bytes and entries).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "archive/untar.hpp"

namespace {

namespace fs = std::filesystem;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void clean(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(dir, ec);
}

// The private root: made on first use, removed at exit.
struct Root {
  Root() {
    char tmpl[] = "/tmp/hms-fuzz-untar-XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    path = tmpl;
  }
  ~Root() { clean(path); }
  std::string path;
};
const std::string& root() {
  static Root r;
  return r.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string dest = root() + "/build";
  clean(dest);
  fs::create_directories(dest);
  hms::archive::UnpackLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_entries = 1000;
  const hms::archive::UnpackResult r = hms::archive::unpack_tar_memory(data, size, dest, limits);
  check(r.ok || !r.error.empty());
  check(r.bytes <= limits.max_bytes);
  check(r.entries <= limits.max_entries + 1);
  std::size_t beside = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root(), ec)) beside += e.path().filename() != "build";
  check(beside == 0);
  clean(dest);
  return 0;
}

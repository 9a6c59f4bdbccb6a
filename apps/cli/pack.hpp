// The deploy tarball: a gzip'd tar of a directory (apps/archive/pack.hpp,
// the packer the hub uses for GET /<id>).
//
// Like the reference's tar-fs pack: the first entry is "." (the directory
// itself), then every entry breadth first (names sorted, where tar-fs took
// readdir's order), relative names without "./", ustar headers (pax
// extensions only for what ustar cannot hold: long names), mode, mtime,
// uid and gid from lstat and no user/group names, symbolic links stored as
// links, sockets skipped. Ignored paths (see ignore.hpp) and everything
// below an ignored directory are left out. A FIFO or device is an error, as
// in the reference ("unsupported type for <name>").
#pragma once

#include <cstdint>
#include <string>

#include "ignore.hpp"
#include "outcome.hpp"

namespace hms::cli {

struct PackStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // of the .tgz
};

Outcome<PackStats> pack_directory(const std::string& dir, const IgnoreRules& ignore, const std::string& out_path);

}  // namespace hms::cli

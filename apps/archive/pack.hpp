// Packing a folder: a gzip'd tar, as the reference's tar-fs pack makes it
// (what the hub serves at `GET /<id>` and the CLI uploads).
//
// The first entry is "." (the folder itself), then every entry breadth
// first, names sorted, relative and without "./"; ustar headers (pax
// extensions only for what ustar cannot hold); mode, mtime, uid and gid
// from lstat, no user or group names; symbolic links stored as links;
// sockets skipped. A FIFO or a device is an error ("unsupported type for
// <name>"), as in the reference. `keep` may leave out paths: a folder left
// out is not entered.
//
// ### Threads
// Blocking file I/O: called on worker threads (the hub) or the main thread
// (the CLI). Nothing is shared between calls.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace hms::archive {

// Whether `path` (relative, '/'-separated) goes into the tarball.
using PackFilter = std::function<bool(std::string_view path, bool is_dir)>;

struct PackResult {
  bool ok = false;
  // When !ok: what failed. For a failed system call, `err` is its errno,
  // `syscall` its name and `path` the file (callers word it their way);
  // otherwise `message` says it.
  int err = 0;
  std::string syscall, path, message;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // of the .tgz written
};

// Writes the tarball of `dir` to `out_path` (created or truncated).
PackResult pack_directory(const std::string& dir, const std::string& out_path, const PackFilter& keep = {});

// "open 'path': No such file or directory", or the message: for logs and
// the hub's answers.
std::string describe(const PackResult& r);

}  // namespace hms::archive

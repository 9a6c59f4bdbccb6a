// Unpacking a build: a gzip'd tar (what the hub's `GET /<id>` sends) read
// with libarchive and written under one folder.
//
// ### What is refused
// The whole archive is refused, with an error naming the entry, when any
// entry would land outside the folder: an absolute name, a name with a
// `..` component, a symbolic link whose target is absolute or climbs out of
// the folder (resolved from the link's own directory), a hard link to a
// name outside it. libarchive's own guards (SECURE_NODOTDOT and
// SECURE_SYMLINKS: never write through a link) are
// on as well, so nothing is ever written outside the folder; the caller
// unpacks into a fresh temporary folder and deletes it on failure, so a
// refused archive leaves nothing behind. Devices, FIFOs and sockets are
// skipped (a build has no use for them); set-user-id and set-group-id bits
// are dropped; owners are not restored. As the reference (tar-fs with
// readable:true), files get at least r--r--r-- and folders r-xr-xr-x,
// then the umask applies.
//
// ### Limits
// UnpackLimits bound the bytes written and the number of entries, so a
// small archive cannot fill the disk (a gzip bomb), and the bytes of the
// archive itself, so that a stream that unpacks to nothing (empty gzip
// members one after another, tar padding) cannot be read for ever.
//
// ### Threads
// Blocking I/O: the dock and the hub call it on worker threads. Note that libarchive
// sets the umask to read it (archive_write_disk_new), which any thread
// creating a file at that instant would see.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace hms::archive {

struct UnpackLimits {
  std::uint64_t max_bytes = std::uint64_t{16} << 30;  // file contents, in total
  std::uint64_t max_entries = 1000000;
  // The archive as read (compressed): 0 means what the two limits above
  // can need, the contents plus 4 KiB of headers and padding per entry.
  std::uint64_t max_read = 0;

  std::uint64_t read_bound() const noexcept {
    if (max_read) return max_read;
    const std::uint64_t kPerEntry = 4096, kMax = ~std::uint64_t{0};
    const std::uint64_t headers = max_entries > kMax / kPerEntry ? kMax : max_entries * kPerEntry;
    return max_bytes > kMax - headers ? kMax : max_bytes + headers;
  }
};

struct UnpackResult {
  bool ok = false;
  std::string error;          // why not, when !ok
  std::uint64_t entries = 0;  // written (files, folders, links)
  std::uint64_t bytes = 0;    // file contents written
  std::uint64_t skipped = 0;  // devices, FIFOs, sockets
};

// Pulls the archive's bytes without copying them: > 0 bytes at *data
// (valid until the next call), 0 at the end, -1 on error (then
// `source_error` says why).
using ReadSource = std::function<long(const void** data)>;

// Unpacks into `dest`, an existing folder (relative to the current
// directory or absolute; no `..` in it).
UnpackResult unpack_tar(const ReadSource& read, const std::function<std::string()>& source_error,
                        const std::string& dest, const UnpackLimits& limits = {});

// The same from memory (tests, the fuzz target).
UnpackResult unpack_tar_memory(const void* data, std::size_t size, const std::string& dest,
                               const UnpackLimits& limits = {});

// Where an entry named `name` goes, relative to the folder ("" for the
// folder itself), or false when it would land outside. Pure; exposed for
// the tests.
bool safe_entry_path(std::string_view name, std::string* out);
// Whether a symbolic link at `link_path` (a safe relative path) pointing at
// `target` stays inside the folder. Pure.
bool safe_link_target(std::string_view link_path, std::string_view target);

}  // namespace hms::archive

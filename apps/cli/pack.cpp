#include "pack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <memory>
#include <vector>

#include "text.hpp"

namespace hms::cli {

namespace {

// libarchive is opened when a tarball is made, not at start: with libxml2,
// ICU, nettle and seven compression libraries behind it, loading it cost
// about 2 ms of CPU per run, half of what `hms list` costs in all.
#define HMS_ARCHIVE_CALLS(X)                                                                              \
  X(archive_write_new) X(archive_write_free) X(archive_write_add_filter_gzip)                             \
  X(archive_write_set_format_pax_restricted) X(archive_write_open_filename) X(archive_write_header)        \
  X(archive_write_data) X(archive_write_close) X(archive_error_string) X(archive_entry_new)                \
  X(archive_entry_free) X(archive_entry_set_pathname) X(archive_entry_set_perm) X(archive_entry_set_mtime) \
  X(archive_entry_set_uid) X(archive_entry_set_gid) X(archive_entry_set_filetype)                         \
  X(archive_entry_set_size) X(archive_entry_set_symlink)

struct Lib {
#define HMS_DECLARE(f) decltype(&::f) f = nullptr;
  HMS_ARCHIVE_CALLS(HMS_DECLARE)
#undef HMS_DECLARE
  std::string error;
};

const Lib& lib() {
  static const Lib l = [] {
    Lib x;
    void* h = ::dlopen(HMS_LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      x.error = std::string("cannot load libarchive: ") + ::dlerror();
      return x;
    }
#define HMS_RESOLVE(f)                                                   \
  x.f = reinterpret_cast<decltype(&::f)>(::dlsym(h, #f));                \
  if (!x.f && x.error.empty()) x.error = "libarchive lacks " #f;
    HMS_ARCHIVE_CALLS(HMS_RESOLVE)
#undef HMS_RESOLVE
    return x;
  }();
  return l;
}

struct ArchiveCloser {
  void operator()(archive* a) const { lib().archive_write_free(a); }
};
struct EntryCloser {
  void operator()(archive_entry* e) const { lib().archive_entry_free(e); }
};
using Archive = std::unique_ptr<archive, ArchiveCloser>;
using Entry = std::unique_ptr<archive_entry, EntryCloser>;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string join(const std::string& a, const std::string& b) { return a == "." ? b : a + "/" + b; }

// A directory's names, sorted, without . and ..
Outcome<std::vector<std::string>> list_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return Failure{fs_error(errno, "scandir", path)};
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Outcome<bool> write_contents(archive* a, const std::string& path, std::uint64_t size) {
  const Lib& L = lib();
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f.fd < 0) return Failure{fs_error(errno, "open", path)};
  std::vector<char> buf(256 << 10);
  std::uint64_t left = size;
  while (left > 0) {
    const ssize_t n = ::read(f.fd, buf.data(), std::min<std::uint64_t>(buf.size(), left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failure{fs_error(errno, "read", path)};
    if (n == 0) break;  // the file shrank: the header's size stands, padded
    if (L.archive_write_data(a, buf.data(), static_cast<std::size_t>(n)) < 0)
      return Failure{L.archive_error_string(a) ? L.archive_error_string(a) : "tar write failed"};
    left -= static_cast<std::uint64_t>(n);
  }
  if (left > 0) {
    // Keep the archive well formed: zeros for what vanished.
    std::fill(buf.begin(), buf.end(), 0);
    while (left > 0) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left));
      if (L.archive_write_data(a, buf.data(), n) < 0) return Failure{"tar write failed"};
      left -= n;
    }
  }
  return true;
}

}  // namespace

Outcome<PackStats> pack_directory(const std::string& dir, const IgnoreRules& ignore, const std::string& out_path) {
  const Lib& L = lib();
  if (!L.error.empty()) return Failure{L.error};
  Archive a(L.archive_write_new());
  if (!a) return Failure{"cannot create an archive (out of memory)"};
  if (L.archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
      L.archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      L.archive_write_open_filename(a.get(), out_path.c_str()) != ARCHIVE_OK) {
    return Failure{L.archive_error_string(a.get()) ? L.archive_error_string(a.get()) : "cannot open " + out_path};
  }
  PackStats stats;
  std::deque<std::string> queue{"."};
  while (!queue.empty()) {
    const std::string rel = std::move(queue.front());
    queue.pop_front();
    const std::string path = rel == "." ? dir : dir + "/" + rel;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return Failure{fs_error(errno, "lstat", path)};
    if (S_ISSOCK(st.st_mode)) continue;  // tar cannot hold sockets

    Entry e(L.archive_entry_new());
    L.archive_entry_set_pathname(e.get(), rel.c_str());
    L.archive_entry_set_perm(e.get(), st.st_mode & 07777);
    L.archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, 0);
    L.archive_entry_set_uid(e.get(), st.st_uid);
    L.archive_entry_set_gid(e.get(), st.st_gid);
    if (S_ISDIR(st.st_mode)) {
      L.archive_entry_set_filetype(e.get(), AE_IFDIR);
      L.archive_entry_set_size(e.get(), 0);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096), '\0');
      const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return Failure{fs_error(errno, "readlink", path)};
      target.resize(static_cast<std::size_t>(n));
      L.archive_entry_set_filetype(e.get(), AE_IFLNK);
      L.archive_entry_set_symlink(e.get(), target.c_str());
      L.archive_entry_set_size(e.get(), 0);
    } else if (S_ISREG(st.st_mode)) {
      L.archive_entry_set_filetype(e.get(), AE_IFREG);
      L.archive_entry_set_size(e.get(), st.st_size);
    } else {
      return Failure{"unsupported type for " + rel};
    }
    if (L.archive_write_header(a.get(), e.get()) < ARCHIVE_WARN)
      return Failure{L.archive_error_string(a.get()) ? L.archive_error_string(a.get()) : "tar header failed"};
    ++stats.entries;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      auto w = write_contents(a.get(), path, static_cast<std::uint64_t>(st.st_size));
      if (!w) return Failure{w.error()};
    }
    if (!S_ISDIR(st.st_mode)) continue;
    auto names = list_dir(path);
    if (!names) return Failure{names.error()};
    for (const std::string& n : names.value()) {
      const std::string child = join(rel, n);
      struct stat cst;
      const bool is_dir = ::lstat((dir + "/" + child).c_str(), &cst) == 0 && S_ISDIR(cst.st_mode);
      if (!ignore.ignored(child, is_dir)) queue.push_back(child);
    }
  }
  if (L.archive_write_close(a.get()) != ARCHIVE_OK)
    return Failure{L.archive_error_string(a.get()) ? L.archive_error_string(a.get()) : "cannot write " + out_path};
  struct stat out;
  if (::stat(out_path.c_str(), &out) == 0) stats.bytes = static_cast<std::uint64_t>(out.st_size);
  return stats;
}

}  // namespace hms::cli

#include "archive/pack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

namespace hms::archive {

namespace {

struct WriterFree {
  void operator()(::archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using Writer = std::unique_ptr<::archive, WriterFree>;
using Entry = std::unique_ptr<archive_entry, EntryFree>;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

PackResult sys_failure(int err, const char* syscall, std::string path) {
  PackResult r;
  r.err = err;
  r.syscall = syscall;
  r.path = std::move(path);
  return r;
}

PackResult failure(std::string message) {
  PackResult r;
  r.message = std::move(message);
  return r;
}

PackResult archive_failure(::archive* a, const char* fallback) {
  const char* why = archive_error_string(a);
  return failure(why ? why : fallback);
}

// A folder's names, sorted, without . and ..; false with errno set.
bool names_in(const std::string& path, std::vector<std::string>* out) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return false;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") out->emplace_back(n);
  }
  ::closedir(d);
  std::sort(out->begin(), out->end());
  return true;
}

// Copies `size` bytes of a file into the archive; a file that shrank
// meanwhile is padded with zeros so the archive stays well formed.
PackResult copy_contents(::archive* a, const std::string& path, std::uint64_t size) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (f.fd < 0) return sys_failure(errno, "open", path);
  std::vector<char> buf(256 << 10);
  std::uint64_t left = size;
  while (left > 0) {
    const ssize_t n = ::read(f.fd, buf.data(), std::min<std::uint64_t>(buf.size(), left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_failure(errno, "read", path);
    if (n == 0) break;
    if (archive_write_data(a, buf.data(), static_cast<std::size_t>(n)) < 0) return archive_failure(a, "tar write failed");
    left -= static_cast<std::uint64_t>(n);
  }
  std::fill(buf.begin(), buf.end(), 0);
  while (left > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left));
    if (archive_write_data(a, buf.data(), n) < 0) return archive_failure(a, "tar write failed");
    left -= n;
  }
  PackResult ok;
  ok.ok = true;
  return ok;
}

// The entry for `rel` (at `path`, described by `st`), its header written.
PackResult write_header(::archive* a, const std::string& rel, const std::string& path, const struct stat& st) {
  Entry e(archive_entry_new());
  if (!e) return failure("out of memory");
  archive_entry_set_pathname(e.get(), rel.c_str());
  archive_entry_set_perm(e.get(), st.st_mode & 07777);
  archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, 0);
  archive_entry_set_uid(e.get(), st.st_uid);
  archive_entry_set_gid(e.get(), st.st_gid);
  archive_entry_set_size(e.get(), 0);
  if (S_ISDIR(st.st_mode)) {
    archive_entry_set_filetype(e.get(), AE_IFDIR);
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096), '\0');
    const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return sys_failure(errno, "readlink", path);
    target.resize(static_cast<std::size_t>(n));
    archive_entry_set_filetype(e.get(), AE_IFLNK);
    archive_entry_set_symlink(e.get(), target.c_str());
  } else if (S_ISREG(st.st_mode)) {
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_size(e.get(), st.st_size);
  } else {
    return failure("unsupported type for " + rel);
  }
  if (archive_write_header(a, e.get()) < ARCHIVE_WARN) return archive_failure(a, "tar header failed");
  PackResult ok;
  ok.ok = true;
  return ok;
}

}  // namespace

PackResult pack_directory(const std::string& dir, const std::string& out_path, const PackFilter& keep) {
  Writer a(archive_write_new());
  if (!a) return failure("cannot create an archive (out of memory)");
  if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_open_filename(a.get(), out_path.c_str()) != ARCHIVE_OK)
    return archive_failure(a.get(), "cannot open the tarball for writing");
  PackResult done;
  std::deque<std::string> queue{"."};
  while (!queue.empty()) {
    const std::string rel = std::move(queue.front());
    queue.pop_front();
    const std::string path = rel == "." ? dir : dir + "/" + rel;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return sys_failure(errno, "lstat", path);
    if (S_ISSOCK(st.st_mode)) continue;  // tar cannot hold sockets
    if (PackResult h = write_header(a.get(), rel, path, st); !h.ok) return h;
    ++done.entries;
    if (S_ISREG(st.st_mode) && st.st_size > 0)
      if (PackResult c = copy_contents(a.get(), path, static_cast<std::uint64_t>(st.st_size)); !c.ok) return c;
    if (!S_ISDIR(st.st_mode)) continue;
    std::vector<std::string> names;
    if (!names_in(path, &names)) return sys_failure(errno, "scandir", path);
    for (const std::string& n : names) {
      std::string child = rel == "." ? n : rel + "/" + n;
      if (keep) {
        struct stat cst;
        const bool is_dir = ::lstat((dir + "/" + child).c_str(), &cst) == 0 && S_ISDIR(cst.st_mode);
        if (!keep(child, is_dir)) continue;
      }
      queue.push_back(std::move(child));
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return archive_failure(a.get(), "cannot finish the tarball");
  struct stat out;
  if (::stat(out_path.c_str(), &out) == 0) done.bytes = static_cast<std::uint64_t>(out.st_size);
  done.ok = true;
  return done;
}

std::string describe(const PackResult& r) {
  if (r.err == 0) return r.message;
  std::string s = r.syscall;
  s += " '";
  s += r.path;
  s += "': ";
  s += std::strerror(r.err);
  return s;
}

}  // namespace hms::archive

#include "archive/untar.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace hms::archive {

namespace {

// Splits on '/', dropping empty and "." components.
std::vector<std::string_view> components(std::string_view p) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i <= p.size()) {
    const std::size_t slash = p.find('/', i);
    const std::string_view c = p.substr(i, slash == std::string_view::npos ? std::string_view::npos : slash - i);
    if (!c.empty() && c != ".") out.push_back(c);
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  return out;
}

struct Source {
  const ReadSource* read;
  std::uint64_t bound = 0;  // bytes of the archive read at most
  std::uint64_t got = 0;
  std::string error;  // set when this side stopped the read
};

la_ssize_t read_cb(::archive* a, void* client, const void** out) {
  auto* s = static_cast<Source*>(client);
  const long n = (*s->read)(out);
  if (n < 0) {
    archive_set_error(a, EIO, "download failed");
    return -1;
  }
  if (static_cast<std::uint64_t>(n) > s->bound - s->got) {
    s->error = "archive is over " + std::to_string(s->bound) + " bytes as sent";
    archive_set_error(a, EFBIG, "%s", s->error.c_str());
    return -1;
  }
  s->got += static_cast<std::uint64_t>(n);
  return static_cast<la_ssize_t>(n);
}

struct ArchiveCloser {
  void operator()(::archive* a) const noexcept { archive_read_free(a); }
};
struct DiskCloser {
  void operator()(::archive* a) const noexcept { archive_write_free(a); }
};

std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += '?';  // no control bytes in logs
    else out += c;
  }
  return out + "'";
}

}  // namespace

bool safe_entry_path(std::string_view name, std::string* out) {
  if (!name.empty() && name.front() == '/') return false;
  std::string r;
  for (std::string_view c : components(name)) {
    if (c == "..") return false;
    if (!r.empty()) r += '/';
    r.append(c);
  }
  *out = std::move(r);
  return true;
}

bool safe_link_target(std::string_view link_path, std::string_view target) {
  if (target.empty() || target.front() == '/') return false;
  // Resolved from the link's directory; every prefix must stay inside.
  std::vector<std::string_view> parts = components(link_path);
  if (!parts.empty()) parts.pop_back();  // the link itself
  long depth = static_cast<long>(parts.size());
  for (std::string_view c : components(target)) {
    depth += c == ".." ? -1 : 1;
    if (depth < 0) return false;
  }
  return true;
}

UnpackResult unpack_tar(const ReadSource& read, const std::function<std::string()>& source_error,
                        const std::string& dest, const UnpackLimits& limits) {
  UnpackResult res;
  std::unique_ptr<::archive, ArchiveCloser> in(archive_read_new());
  std::unique_ptr<::archive, DiskCloser> out(archive_write_disk_new());
  if (!in || !out) {
    res.error = "out of memory";
    return res;
  }
  archive_read_support_filter_gzip(in.get());
  archive_read_support_format_tar(in.get());
  // Names are checked (and made relative to dest) above libarchive; its own
  // guards stay on below: no `..` in a path, never write through a link.
  // (Not NOABSOLUTEPATHS: dest itself may be an absolute path.)
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  auto src = std::make_unique<Source>();
  src->read = &read;
  src->bound = limits.read_bound();
  auto fail = [&](std::string why) {
    res.ok = false;
    res.error = std::move(why);
    return res;
  };
  auto read_failure = [&](const char* what) {
    if (!src->error.empty()) return fail(src->error);
    std::string e = source_error ? source_error() : std::string();
    if (e.empty()) e = std::string(what) + ": " + (archive_error_string(in.get()) ? archive_error_string(in.get()) : "unknown error");
    return fail(std::move(e));
  };
  if (archive_read_open(in.get(), src.get(), nullptr, read_cb, nullptr) != ARCHIVE_OK)
    return read_failure("not a gzip'd tar");

  const std::string prefix = dest.empty() || dest.back() == '/' ? dest : dest + "/";
  archive_entry* e = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(in.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return read_failure("bad archive");
    if (++res.entries > limits.max_entries)
      return fail("archive has more than " + std::to_string(limits.max_entries) + " entries");
    const char* name = archive_entry_pathname(e);
    if (!name) return fail("archive entry without a name");
    // A copy: the entry's own string changes with set_pathname below.
    const std::string raw = name;
    std::string rel;
    if (!safe_entry_path(raw, &rel))
      return fail("refusing archive entry " + quoted(raw) + ": it would land outside the build folder");
    const mode_t type = archive_entry_filetype(e);
    const char* hard = archive_entry_hardlink(e);
    if (rel.empty()) {
      // The archive's root ("." as tar-fs packs it first) is the folder.
      if (type == AE_IFDIR && !hard) {
        --res.entries;
        continue;
      }
      return fail("refusing archive entry " + quoted(raw) + ": it would replace the build folder");
    }
    if (hard) {
      std::string target;
      if (!safe_entry_path(hard, &target) || target.empty())
        return fail("refusing hard link " + quoted(raw) + " -> " + quoted(hard) + ": it points outside the build folder");
      archive_entry_set_hardlink(e, (prefix + target).c_str());
    } else if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(e);
      if (!target || !safe_link_target(rel, target))
        return fail("refusing symbolic link " + quoted(raw) + " -> " + quoted(target ? target : "") +
                    ": it points outside the build folder");
    } else if (type != AE_IFREG && type != AE_IFDIR) {
      ++res.skipped;
      --res.entries;
      continue;
    }
    const std::int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (size < 0 || static_cast<std::uint64_t>(size) > limits.max_bytes - res.bytes)
      return fail("archive unpacks to more than " + std::to_string(limits.max_bytes) + " bytes");
    archive_entry_set_pathname(e, (prefix + rel).c_str());
    mode_t perm = archive_entry_perm(e) & 0777;  // no set-id or sticky bits
    if (type == AE_IFDIR) perm |= 0555;
    else if (type == AE_IFREG) perm |= 0444;
    archive_entry_set_perm(e, perm);
    if (archive_write_header(out.get(), e) != ARCHIVE_OK)
      return fail("cannot write " + quoted(raw) + ": " + archive_error_string(out.get()));
    if (type == AE_IFREG && !hard) {
      const void* buf = nullptr;
      std::size_t len = 0;
      la_int64_t off = 0;
      for (;;) {
        const int r = archive_read_data_block(in.get(), &buf, &len, &off);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return read_failure("bad archive");
        if (len > limits.max_bytes - res.bytes)
          return fail("archive unpacks to more than " + std::to_string(limits.max_bytes) + " bytes");
        res.bytes += len;
        if (archive_write_data_block(out.get(), buf, len, off) != ARCHIVE_OK)
          return fail("cannot write " + quoted(raw) + ": " + archive_error_string(out.get()));
      }
    }
    if (archive_write_finish_entry(out.get()) != ARCHIVE_OK)
      return fail("cannot write " + quoted(raw) + ": " + archive_error_string(out.get()));
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK)
    return fail(std::string("cannot finish the build folder: ") + archive_error_string(out.get()));
  res.ok = true;
  return res;
}

UnpackResult unpack_tar_memory(const void* data, std::size_t size, const std::string& dest,
                               const UnpackLimits& limits) {
  bool given = false;
  const ReadSource read = [&](const void** out) -> long {
    if (given) return 0;
    given = true;
    *out = data;
    return static_cast<long>(size);
  };
  return unpack_tar(read, {}, dest, limits);
}

}  // namespace hms::archive

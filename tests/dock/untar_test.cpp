// Unpacking with libarchive: what lands where, what is refused (the whole
// archive, naming the entry), and the size limits.
#include <gtest/gtest.h>

#include "dock/harness.hpp"
#include "archive/untar.hpp"

namespace hms::archive {
namespace {

using docktest::make_tarball;
using docktest::read_file;
using docktest::TarEntry;
using docktest::TempDir;
namespace fs = std::filesystem;

TEST(UntarTest, SafePaths) {
  std::string out;
  EXPECT_TRUE(safe_entry_path("./a/b", &out));
  EXPECT_EQ(out, "a/b");
  EXPECT_TRUE(safe_entry_path(".", &out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(safe_entry_path("a//./b/", &out));
  EXPECT_EQ(out, "a/b");
  EXPECT_FALSE(safe_entry_path("../a", &out));
  EXPECT_FALSE(safe_entry_path("a/../b", &out));  // no `..` at all, even harmless ones
  EXPECT_FALSE(safe_entry_path("/etc/passwd", &out));
  EXPECT_TRUE(safe_link_target("a/link", "../b"));
  EXPECT_TRUE(safe_link_target("a/b/link", "../../c"));
  EXPECT_FALSE(safe_link_target("a/b/link", "../../../c"));
  EXPECT_FALSE(safe_link_target("link", ".."));
  EXPECT_FALSE(safe_link_target("link", "/etc"));
  EXPECT_FALSE(safe_link_target("link", ""));
  EXPECT_FALSE(safe_link_target("a/link", "b/../../../x"));
}

TEST(UntarTest, UnpacksFilesFoldersAndLinks) {
  TempDir dir;
  const std::string tgz = make_tarball({{TarEntry::dir, ".", "", 0755},
                                        {TarEntry::file, "a.txt", "alpha", 0600},
                                        {TarEntry::dir, "d", "", 0700},
                                        {TarEntry::file, "d/b.sh", "#!/bin/sh\n", 04755},
                                        {TarEntry::symlink, "d/l", "../a.txt", 0777},
                                        {TarEntry::hardlink, "h.txt", "a.txt", 0644}});
  const UnpackResult r = unpack_tar_memory(tgz.data(), tgz.size(), dir.path());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.entries, 5u);
  EXPECT_EQ(read_file(dir.file("a.txt")), "alpha");
  EXPECT_EQ(read_file(dir.file("d/l")), "alpha");
  EXPECT_EQ(read_file(dir.file("h.txt")), "alpha");
  struct stat st{};
  ASSERT_EQ(::stat(dir.file("d/b.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 04000, 0u) << "set-user-id must be dropped";
  EXPECT_EQ(st.st_mode & 0100, 0100u) << "executable bits kept";
  ASSERT_EQ(::stat(dir.file("a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0444, 0444u);
  // A plain (not gzip'd) tar is read as well.
  TempDir plain;
  const std::string tar = make_tarball({{TarEntry::file, "x", "y", 0644}}, false);
  EXPECT_TRUE(unpack_tar_memory(tar.data(), tar.size(), plain.path()).ok);
}

TEST(UntarTest, RefusesWhatWouldLandOutside) {
  TempDir outer;
  const std::string dest = outer.file("build");
  const std::vector<std::pair<std::vector<TarEntry>, std::string>> cases = {
      {{{TarEntry::file, "../x", "x", 0644}}, "refusing archive entry '../x': it would land outside the build folder"},
      {{{TarEntry::file, "/tmp/hms-untar-abs", "x", 0644}}, "refusing archive entry '/tmp/hms-untar-abs'"},
      {{{TarEntry::symlink, "l", "/", 0777}}, "refusing symbolic link 'l' -> '/'"},
      {{{TarEntry::symlink, "d/l", "../../x", 0777}}, "refusing symbolic link 'd/l' -> '../../x'"},
      {{{TarEntry::hardlink, "h", "../x", 0644}}, "refusing hard link 'h' -> '../x'"},
      {{{TarEntry::file, "ok", "ok", 0644}, {TarEntry::file, "ok/../../x", "x", 0644}}, "refusing archive entry 'ok/../../x'"},
  };
  for (const auto& [entries, error] : cases) {
    fs::create_directories(dest);
    const std::string tgz = make_tarball(entries);
    const UnpackResult r = unpack_tar_memory(tgz.data(), tgz.size(), dest);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.rfind(error, 0), 0u) << r.error;
    fs::remove_all(dest);
  }
  EXPECT_FALSE(fs::exists(outer.file("x")));
  EXPECT_FALSE(fs::exists("/tmp/hms-untar-abs"));
}

TEST(UntarTest, LimitsAndGarbage) {
  TempDir dir;
  const std::string big = make_tarball({{TarEntry::file, "a", std::string(5000, 'a'), 0644}});
  UnpackLimits small;
  small.max_bytes = 4096;
  UnpackResult r = unpack_tar_memory(big.data(), big.size(), dir.path(), small);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "archive unpacks to more than 4096 bytes");
  small.max_bytes = 1 << 20;
  small.max_entries = 2;
  const std::string many = make_tarball({{TarEntry::file, "a", "", 0644}, {TarEntry::file, "b", "", 0644},
                                         {TarEntry::file, "c", "", 0644}});
  r = unpack_tar_memory(many.data(), many.size(), dir.path(), small);
  EXPECT_EQ(r.error, "archive has more than 2 entries");
  // The archive's own bytes are bounded too: by default what the other two
  // limits can need, or as set.
  UnpackLimits narrow;
  narrow.max_bytes = 1000;
  narrow.max_entries = 0;
  EXPECT_EQ(narrow.read_bound(), 1000u);
  narrow.max_read = 100;
  EXPECT_EQ(narrow.read_bound(), 100u);
  r = unpack_tar_memory(big.data(), big.size(), dir.path(), narrow);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "archive is over 100 bytes as sent");
  UnpackLimits huge;
  huge.max_bytes = ~std::uint64_t{0} - 5;
  EXPECT_EQ(huge.read_bound(), ~std::uint64_t{0});  // saturates, does not wrap
  const std::string junk = "definitely not an archive";
  r = unpack_tar_memory(junk.data(), junk.size(), dir.path());
  EXPECT_FALSE(r.ok);
  // A truncated archive.
  const std::string cut = big.substr(0, big.size() / 2);
  r = unpack_tar_memory(cut.data(), cut.size(), dir.path());
  EXPECT_FALSE(r.ok);
}

}  // namespace
}  // namespace hms::archive

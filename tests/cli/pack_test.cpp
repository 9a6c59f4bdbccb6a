// apps/cli/pack: the deploy tarball, read back with libarchive.
#include "pack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace hms::cli {
namespace {

namespace fs = std::filesystem;

struct Entry {
  char type;  // d f l
  std::string data;
  int mode = 0;
};

std::vector<std::pair<std::string, Entry>> read_tgz(const std::string& path) {
  std::vector<std::pair<std::string, Entry>> out;
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 65536), ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Entry en;
    en.mode = archive_entry_perm(e);
    const auto t = archive_entry_filetype(e);
    en.type = t == AE_IFDIR ? 'd' : t == AE_IFLNK ? 'l' : 'f';
    if (t == AE_IFLNK) en.data = archive_entry_symlink(e);
    char buf[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;) en.data.append(buf, static_cast<std::size_t>(n));
    std::string name = archive_entry_pathname(e);
    if (name.size() > 1 && name.back() == '/') name.pop_back();  // libarchive writes dir/
    if (name == "./") name = ".";
    out.emplace_back(name, en);
  }
  archive_read_free(a);
  return out;
}

class PackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hms-cli-pack-XXXXXX";
    dir_ = mkdtemp(tmpl);
    src_ = dir_ + "/app";
    fs::create_directories(src_ + "/sub/deep");
    fs::create_directories(src_ + "/node_modules/x");
    fs::create_directories(src_ + "/.git");
    put("app.js", "console.log(1)\n");
    put("b.txt", std::string(300000, 'b'));  // larger than one read
    put("sub/file.txt", "s\n");
    put("sub/deep/z", "");
    put("debug.log", "x");
    put("node_modules/x/index.js", "m");
    put(".git/HEAD", "ref");
    put(".gitignore", "*.log\nnode_modules/\n");
    chmod((src_ + "/app.js").c_str(), 0751);
    ASSERT_EQ(symlink("app.js", (src_ + "/link").c_str()), 0);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void put(const std::string& rel, const std::string& text) { std::ofstream(src_ + "/" + rel) << text; }
  std::string dir_, src_;
};

TEST_F(PackTest, BreadthFirstSortedWithIgnores) {
  const std::string out = dir_ + "/app.tgz";
  auto r = pack_directory(src_, IgnoreRules::for_directory(src_), out);
  ASSERT_TRUE(r) << r.error();
  const auto entries = read_tgz(out);
  std::vector<std::string> names;
  for (const auto& [n, e] : entries) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{".", ".gitignore", "app.js", "b.txt", "link", "sub", "sub/deep",
                                             "sub/file.txt", "sub/deep/z"}));
  std::map<std::string, Entry> by(entries.begin(), entries.end());
  EXPECT_EQ(by["."].type, 'd');
  EXPECT_EQ(by["app.js"].data, "console.log(1)\n");
  EXPECT_EQ(by["app.js"].mode, 0751);
  EXPECT_EQ(by["b.txt"].data, std::string(300000, 'b'));
  EXPECT_EQ(by["link"].type, 'l');
  EXPECT_EQ(by["link"].data, "app.js");
  EXPECT_EQ(r->entries, 9u);
  EXPECT_GT(r->bytes, 0u);
}

TEST_F(PackTest, HmsignoreWinsAndNoIgnoreTakesAll) {
  put(".hmsignore", "b.txt\n");
  const std::string out = dir_ + "/app.tgz";
  ASSERT_TRUE(pack_directory(src_, IgnoreRules::for_directory(src_), out));
  std::map<std::string, Entry> by;
  for (auto& [n, e] : read_tgz(out)) by[n] = e;
  EXPECT_FALSE(by.count("b.txt"));
  EXPECT_TRUE(by.count("debug.log"));  // .gitignore is not read when .hmsignore has rules
  EXPECT_FALSE(by.count(".git"));
  ASSERT_TRUE(pack_directory(src_, IgnoreRules::none(), out));
  by.clear();
  for (auto& [n, e] : read_tgz(out)) by[n] = e;
  EXPECT_TRUE(by.count(".git/HEAD"));
  EXPECT_TRUE(by.count("node_modules/x/index.js"));
}

TEST_F(PackTest, SocketsSkippedFifosRefused) {
  const std::string sock = src_ + "/s.sock";
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::snprintf(un.sun_path, sizeof un.sun_path, "%s", sock.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
  const std::string out = dir_ + "/app.tgz";
  ASSERT_TRUE(pack_directory(src_, IgnoreRules::none(), out));
  close(fd);
  ASSERT_EQ(mkfifo((src_ + "/fifo").c_str(), 0600), 0);
  auto r = pack_directory(src_, IgnoreRules::none(), out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "unsupported type for fifo");
}

}  // namespace
}  // namespace hms::cli

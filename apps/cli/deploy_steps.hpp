// The pieces of deploy (cmd_deploy.cpp runs them in the reference's order).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "link.hpp"
#include "outcome.hpp"
#include "term.hpp"

namespace hms::cli {

// ---- deploy_source.cpp: where the tarball comes from.

// The nearest directory above `cwd` (or cwd itself) holding a .git entry,
// not looking at / itself (as the reference); "" when none.
std::string find_git_root(const std::string& cwd);
// `git describe --always` in the current directory, trimmed; nullopt when
// git fails or takes longer than 10 s.
std::optional<std::string> git_describe();

// A temporary file, removed when this goes.
class TempFile {
 public:
  TempFile() = default;
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  // Creates $TMPDIR/hms-<id>-XXXXXX.tgz.
  Outcome<bool> create(std::string_view id);
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Copies all of stdin into `path`.
Outcome<std::uint64_t> copy_stdin(const std::string& path);
// A readable regular file, or the error as Node words it.
Outcome<std::uint64_t> check_file(const std::string& path);
// GET of an http:// URL into `path` (up to 5 redirects).
Outcome<std::uint64_t> download(const std::string& url, const std::string& path, std::chrono::milliseconds idle);

// ---- deploy_upload.cpp: PUT /<id> and the build's answer.

struct UploadResult {
  enum class Kind : unsigned char {
    built,        // 200 with X-Status 200, or 204: go on
    failed,       // error printed; exit 1
  } kind = Kind::failed;
};

// Uploads `tgz` as the new build of `id` (revision `rev`), shows progress
// and the build output, and reports the result as the reference does.
UploadResult upload_build(Term& term, const HttpRoute& route, const std::string& id,
                          const std::optional<std::string>& rev, const std::string& tgz, const Timeouts& t);

// The build output printer (split at \r?\n, leading blank lines dropped, the
// reference's blank-line folding, " #  " before each line). Public for
// tests.
class BuildOutput {
 public:
  explicit BuildOutput(Term& term) : term_(term) {}
  void feed(std::string_view bytes);
  void end();

 private:
  void line(std::string_view text);
  Term& term_;
  std::string partial_;
  bool first_ = true, was_empty_ = false;
};

}  // namespace hms::cli

#include "support/guarded.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace hms::test {

Guarded::Guarded(std::string_view bytes) : size_(bytes.size()) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t pages = (bytes.size() + page - 1) / page;
  map_size_ = (pages + 1) * page;
  map_ = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map_ == MAP_FAILED) std::abort();
  auto* base = static_cast<std::uint8_t*>(map_);
  if (mprotect(base + pages * page, page, PROT_NONE) != 0) std::abort();
  auto* start = base + pages * page - bytes.size();
  if (!bytes.empty()) std::memcpy(start, bytes.data(), bytes.size());
  data_ = start;
}

Guarded::~Guarded() { munmap(map_, map_size_); }

}  // namespace hms::test

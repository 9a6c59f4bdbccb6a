// Test inputs that end on a guard page: the byte after the last one is
// PROT_NONE, so any over-read crashes the test instead of passing silently.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hms::test {

class Guarded {
 public:
  explicit Guarded(std::string_view bytes);
  Guarded(const void* data, std::size_t size)
      : Guarded(std::string_view(static_cast<const char*>(data), size)) {}
  ~Guarded();
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  const std::uint8_t* data() const { return data_; }
  const char* chars() const { return reinterpret_cast<const char*>(data_); }
  std::size_t size() const { return size_; }

 private:
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace hms::test

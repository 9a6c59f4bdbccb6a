#include "hms/control.hpp"
namespace hms {
const char* to_string(JsonError) noexcept { return "TODO"; }
}

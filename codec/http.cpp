#include "hms/http.hpp"
namespace hms {
const char* to_string(HttpError) noexcept { return "TODO"; }
}

// The version `hms --version` prints and the handshake carries.
#pragma once

namespace hms::cli {

#ifndef HMS_CLI_VERSION
#define HMS_CLI_VERSION "0.0.0"
#endif
inline constexpr const char* kVersion = HMS_CLI_VERSION;

}  // namespace hms::cli

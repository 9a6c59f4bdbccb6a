// The dock's own log lines on stdout, worded as the reference dock prints
// them (hms 0.4.4 commands/dock.js): "[dock] <text>" and
// "[dock] [<service>] <text>". Each line goes out in one write(2), so lines
// never interleave with other writers of the same stdout. Engine
// diagnostics go to stderr through hms/log.hpp instead.
#pragma once

#include <string_view>

namespace hms::dock {

void say(std::string_view text) noexcept;
void say(std::string_view service, std::string_view text) noexcept;

}  // namespace hms::dock

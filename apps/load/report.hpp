// How hms-load prints a run: the human summary on stdout and, with --json,
// one {"bench","impl","value","unit"} object per line (what
// scripts/bench_hub.sh and scripts/bench collect).
#pragma once

#include <string>

#include "load.hpp"

namespace hms::load {

// One JSON result line. Integers print as integers, fractions with three
// decimals.
void json_line(const std::string& bench, const std::string& impl, double value, const char* unit);

// Prints the summary (and the JSON lines when `json`) of a run named
// `name`. Returns the exit status: 0 for a clean run, 1 when the set-up
// failed, nothing was delivered, a connection was lost or a frame was not
// ours.
int print_report(const Options& o, const Report& r, const std::string& name, const std::string& impl,
                 bool json);

}  // namespace hms::load

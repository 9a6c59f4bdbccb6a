// Reads a golden data file of tests/cli/data.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "jsvalue.hpp"

namespace hms::cli {

inline JsValue data_file(const std::string& name) {
  std::ifstream in(std::string(HMS_CLI_TEST_DATA) + "/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  JsParse p = parse_json(ss.str());
  if (!p.ok()) throw std::runtime_error(name + ": " + p.error);
  return p.value;
}

}  // namespace hms::cli

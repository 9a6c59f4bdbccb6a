// A running hms-dock for a test: its own folder (store, builds), pointed at
// a hub, on a free client port; plus readers for its ps reply.
#pragma once

#include <simdjson.h>

#include "dock/harness.hpp"

namespace hms::docktest {

struct DockRun {
  // Starts `hms-dock 127.0.0.1:<hub_port> --id <id> --default --port 0 ...`
  // in `dir` and waits for its "listening on" line.
  DockRun(std::string dir_, std::uint16_t hub_port, std::vector<std::string> extra = {}, std::string id_ = "d1",
          std::vector<std::string> env = {})
      : dir(std::move(dir_)), id(std::move(id_)) {
    fs::create_directories(dir);
    std::vector<std::string> args{"127.0.0.1:" + std::to_string(hub_port), "--id", id, "--port", "0",
                                  "--address", "127.0.0.1", "--log-level", "warn"};
    bool tagged = false;
    for (const auto& e : extra) tagged = tagged || e == "--tag" || e == "--no-default";
    if (!tagged) args.push_back("--default");
    for (auto& e : extra)
      if (e != "--no-default") args.push_back(e);
    Proc::Options o;
    o.cwd = dir;
    o.env = std::move(env);
    proc = std::make_unique<Proc>(HMS_DOCK_BINARY, args, o);
    const std::string mark = "[dock] " + id + " listening on ";
    auto line = proc->wait_line([&](const std::string& l) { return l.rfind(mark, 0) == 0; });
    if (!line) throw std::runtime_error("hms-dock did not start:\n" + proc->transcript());
    port = static_cast<std::uint16_t>(std::stoi(line->substr(mark.size())));
  }
  Proc* operator->() { return proc.get(); }
  std::string build_dir(const std::string& service, const std::string& deployed) const {
    std::string name = service + "@" + deployed;
    for (char& c : name)
      if (c == ':') c = '-';
    return dir + "/builds/" + name;
  }

  std::string dir, id;
  std::unique_ptr<Proc> proc;
  std::uint16_t port = 0;
};

// A service record as a hub syncs it.
inline std::string service_json(const std::string& id, const std::string& start,
                                const std::string& deployed = "2024-01-01T00:00:00.000Z",
                                const std::string& env_json = "{}", const std::string& more = "") {
  return R"({"id":")" + id + R"(","start":")" + start + R"(","env":)" + env_json + R"(,"deployed":")" + deployed +
         R"(","revision":"r1")" + more + "}";
}

// One process of a ps reply, flattened to what the tests look at.
struct PsEntry {
  bool found = false;
  std::string status, cwd, started, error;
  std::int64_t pid = 0, restarts = -1, output_bytes = -1, output_frames = -1, dropped = -1;
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> env;
};

inline PsEntry ps_entry(const std::string& json, const std::string& service) {
  PsEntry e;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json).get(root)) return e;
  simdjson::dom::array docks;
  if (root.get(docks)) return e;
  for (auto dock : docks) {
    simdjson::dom::array list;
    if (dock["list"].get(list)) continue;
    for (auto p : list) {
      std::string_view id;
      if (p["id"].get(id) || id != service) continue;
      e.found = true;
      std::string_view s;
      if (!p["status"].get(s)) e.status = s;
      if (!p["cwd"].get(s)) e.cwd = s;
      if (!p["started"].get(s)) e.started = s;
      if (!p["error"].get(s)) e.error = s;
      std::int64_t n;
      if (!p["pid"].get(n)) e.pid = n;
      if (!p["restarts"].get(n)) e.restarts = n;
      if (!p["outputBytes"].get(n)) e.output_bytes = n;
      if (!p["outputFrames"].get(n)) e.output_frames = n;
      if (!p["droppedBytes"].get(n)) e.dropped = n;
      simdjson::dom::array cmd;
      if (!p["command"].get(cmd))
        for (auto a : cmd)
          if (!a.get(s)) e.command.emplace_back(s);
      simdjson::dom::object env;
      if (!p["env"].get(env))
        for (auto kv : env)
          if (!kv.value.get(s)) e.env.emplace_back(std::string(kv.key), std::string(s));
    }
  }
  return e;
}

// A member of the dock's "stats" object in a ps reply, or -1.
inline std::int64_t ps_stat(const std::string& json, const char* name) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json).get(root)) return -1;
  simdjson::dom::array docks;
  if (root.get(docks)) return -1;
  for (auto dock : docks) {
    std::int64_t n;
    if (!dock["stats"][name].get(n)) return n;
  }
  return -1;
}

}  // namespace hms::docktest

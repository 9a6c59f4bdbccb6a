// codec/control_messages.cpp: the control messages themselves. For each
// kind of object (handshake, service, a ps dock): which members it has and
// how each is read (the member maps), and the order they are written in
// (to_json). A new member goes into both halves of this file. Walking the
// JSON is json_reader.cpp's job; the member semantics are documented in
// hms/control.hpp.
#include <iterator>
#include <utility>

#include "json_reader.hpp"

namespace hms {
namespace detail {
namespace {

// A known member: its name (matched unescaped) and how its value is read
// into T, the struct being read (or a wrapper of it: see target()).
template <class T>
struct Member {
  std::string_view name;
  bool (*read)(Reader& r, od::value& v, T& out, std::size_t depth);
};

// A handshake while it is read. A protocol that is not a usable number is
// kept for the round trip but must not count as a protocol: it goes to
// `extra` once we know it was the last `protocol` member.
struct HandshakeIn {
  Handshake& h;
  std::optional<std::string> protocol_raw;
};

// The struct a member map fills.
template <class T>
T& target(T& out) noexcept {
  return out;
}
Handshake& target(HandshakeIn& in) noexcept { return in.h; }

// A member read by the type of the field it goes to (the Reader::read
// overloads).
template <auto Field>
constexpr auto field = [](Reader& r, od::value& v, auto& out, std::size_t depth) {
  return r.read(v, target(out).*Field, depth);
};

// Reads the members of an object at `depth` into `out`: each known member
// as its entry in Map says (a repeated one: the last wins), every other
// member into extra (a repeated one: first position, last value).
//
// The map is a template argument so that the lookup unrolls at compile time
// into the if-chain one would write by hand: each name compare has a
// constant length and each read is a direct call. (A loop over the table
// cost the handshake parse about a third more instructions.)
template <const auto& Map, class T>
bool read_object(Reader& r, od::object& obj, T& out, std::size_t depth) {
  auto& extra = target(out).extra;
  const auto member = [&]<std::size_t... I>(std::string_view raw, std::string_view name,
                                            od::value& v, std::index_sequence<I...>) {
    bool ok = false;
    const bool known =
        ((name == Map[I].name && (ok = Map[I].read(r, v, out, depth + 1), true)) || ...);
    return known ? ok : r.extra(raw, v, extra, depth + 1);
  };
  const bool walked =
      r.members(obj, [&](std::string_view raw, std::string_view name, od::value& v) {
        return member(raw, name, v, std::make_index_sequence<std::size(Map)>{});
      });
  if (!walked) return false;
  dedupe(extra);
  return true;
}

constexpr Member<HandshakeIn> kHandshakeMembers[] = {
    {"protocol",
     [](Reader& r, od::value& v, HandshakeIn& in, std::size_t depth) {
       return r.number_or_raw(v, in.h.protocol, in.protocol_raw, depth);
     }},
    {"type", field<&Handshake::type>},
    {"id", field<&Handshake::id>},
    {"hostname", field<&Handshake::hostname>},
    {"tags", field<&Handshake::tags>},
    {"default", field<&Handshake::is_default>},
    {"version", field<&Handshake::version>},
    {"route", field<&Handshake::route>},
    {"token", field<&Handshake::token>},
};

constexpr Member<Service> kServiceMembers[] = {
    {"id", field<&Service::id>},
    {"start", field<&Service::start>},
    {"build", field<&Service::build>},
    {"limit",
     [](Reader& r, od::value& v, Service& s, std::size_t depth) {
       return r.number_or_raw(v, s.limit, s.limit_raw, depth);
     }},
    {"docks", field<&Service::docks>},
    {"tags", field<&Service::tags>},
    {"revision", field<&Service::revision>},
    {"env", field<&Service::env>},
    {"deployed", field<&Service::deployed>},
    {"cwd", field<&Service::cwd>},
    {"stopped", field<&Service::stopped>},
};

constexpr Member<DockProcesses> kDockProcessesMembers[] = {
    {"id", field<&DockProcesses::id>},
    {"hostname", field<&DockProcesses::hostname>},
    {"tags", field<&DockProcesses::tags>},
    {"list",
     [](Reader& r, od::value& v, DockProcesses& d, std::size_t depth) {
       return r.raw_list(v, d.list, depth);
     }},
};

}  // namespace

bool read_handshake(Reader& r, od::object& obj, Handshake& out, std::size_t depth) {
  HandshakeIn in{out, {}};
  if (!read_object<kHandshakeMembers>(r, obj, in, depth)) return false;
  // No unknown member has the raw key `protocol` (it would be known), so
  // this adds no duplicate.
  if (in.protocol_raw) out.extra.push_back({"protocol", std::move(*in.protocol_raw)});
  return true;
}

bool read_service(Reader& r, od::object& obj, Service& out, std::size_t depth) {
  return read_object<kServiceMembers>(r, obj, out, depth);
}

bool read_dock_processes(Reader& r, od::object& obj, DockProcesses& out, std::size_t depth) {
  return read_object<kDockProcessesMembers>(r, obj, out, depth);
}

}  // namespace detail

// ---- writing, in the orders hms/control.hpp lists


namespace {

void write_strings(JsonWriter& w, const std::vector<std::string>& list) {
  w.begin_array();
  for (const auto& s : list) w.string(s);
  w.end_array();
}

void write_extra(JsonWriter& w, const std::vector<RawMember>& extra) {
  for (const auto& m : extra) w.raw_key(m.key).raw(m.value);
}

}  // namespace

void to_json(JsonWriter& w, const Handshake& h) {
  w.begin_object();
  if (!h.type.empty()) w.key("type").string(h.type);
  if (!h.id.empty()) w.key("id").string(h.id);
  if (!h.hostname.empty()) w.key("hostname").string(h.hostname);
  if (!h.tags.empty()) {
    w.key("tags");
    write_strings(w, h.tags);
  }
  if (h.is_default) w.key("default").boolean(true);
  if (!h.version.empty()) w.key("version").string(h.version);
  if (h.route) w.key("route").string(*h.route);
  if (h.token) w.key("token").string(*h.token);
  write_extra(w, h.extra);
  if (h.protocol) w.key("protocol").number(*h.protocol);
  w.end_object();
}

void to_json(JsonWriter& w, const Service& s) {
  w.begin_object();
  if (!s.id.empty()) w.key("id").string(s.id);
  if (s.start) w.key("start").string(*s.start);
  if (s.build) w.key("build").string(*s.build);
  if (s.limit) w.key("limit").number(*s.limit);
  else if (s.limit_raw) w.key("limit").raw(*s.limit_raw);
  if (s.docks) {
    w.key("docks");
    write_strings(w, *s.docks);
  }
  if (s.tags) {
    w.key("tags");
    write_strings(w, *s.tags);
  }
  if (s.revision) w.key("revision").string(*s.revision);
  if (s.env) {
    w.key("env").begin_object();
    for (const auto& [k, v] : *s.env) w.key(k).string(v);
    w.end_object();
  }
  if (s.deployed) w.key("deployed").string(*s.deployed);
  if (s.cwd) w.key("cwd").string(*s.cwd);
  if (s.stopped) w.key("stopped").boolean(*s.stopped);
  write_extra(w, s.extra);
  w.end_object();
}

void to_json(JsonWriter& w, const DockProcesses& d) {
  w.begin_object();
  w.key("id").string(d.id);
  w.key("hostname").string(d.hostname);
  w.key("tags");
  write_strings(w, d.tags);
  w.key("list").begin_array();
  for (const auto& p : d.list) w.raw(p);
  w.end_array();
  write_extra(w, d.extra);
  w.end_object();
}

std::string to_json(const Handshake& h) {
  std::string out;
  JsonWriter w(out);
  to_json(w, h);
  return out;
}

std::string to_json(const Service& s) {
  std::string out;
  JsonWriter w(out);
  to_json(w, s);
  return out;
}

std::string to_json(const std::vector<Service>& list) {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  for (const auto& s : list) to_json(w, s);
  w.end_array();
  return out;
}

std::string to_json(const std::vector<DockProcesses>& docks) {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  for (const auto& d : docks) to_json(w, d);
  w.end_array();
  return out;
}

}  // namespace hms

// hms/control.hpp: the JSON control messages (handshake, service, service
// lists, ps replies), parsed in place with simdjson On-Demand, and a small
// escaping JSON writer for the other direction.
//
// ### Buffer contract (padding)
// simdjson reads up to SIMDJSON_PADDING (64) bytes past the end of the JSON
// text. A PaddedText promises that those bytes are readable memory (their
// content does not matter and they are never written): the engine's receive
// buffers and assembly blocks are allocated with kJsonPadding spare bytes,
// so JSON is parsed where it arrived, with no copy. Text without that
// promise goes through the parse_*_copy() functions, which copy it into the
// JsonParser's own padded scratch buffer first (no allocation once the
// scratch has grown to the largest document seen).
//
// ### Lifetime
// Parsed structs own their strings (std::string): nothing in a result points
// into the input or into the JsonParser, so a result outlives both. The input
// only has to stay valid for the duration of the call.
//
// ### Errors
// Parsing never throws, prints or aborts; a bad document is a JsonError value
// with a best-effort byte offset. The whole document is validated, unknown
// members included, so what we keep verbatim and forward is valid JSON.
//
// ### What the hub does with a failed handshake
// The reference hub reads `handshake.protocol` from whatever JSON.parse gave
// and answers "Server and client do not speak the same protocol" when it is
// not 1; a non-object handshake (or `null`) ends up there too. So the engine
// answers that message for *any* JsonError from parse_handshake(). (We are
// stricter than the reference in one place: a known member of the wrong
// type, e.g. `"tags":5`, is an error here, where the reference would carry
// the odd value along.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hms {

inline constexpr std::size_t kJsonPadding = 64;  // == SIMDJSON_PADDING (checked in json_reader.cpp)

// JSON text followed by at least kJsonPadding readable bytes.
struct PaddedText {
  const char* data = nullptr;
  std::size_t size = 0;
};

struct JsonLimits {
  // Objects/arrays nested deeper than this are rejected with too_deep (the
  // root container is depth 1). simdjson On-Demand does not bound nesting by
  // itself, and we walk unknown values recursively, so this is our stack
  // guard (DoS): each level costs about 0.3 KiB of the calling thread's
  // stack (0.6 KiB unoptimised), so the default needs under 1 MiB.
  // simdjson's own default is the same 1024. Real control messages nest
  // 4 deep.
  std::size_t max_depth = 1024;
  // Documents longer than this are rejected with too_large before any
  // parsing; the parser never grows its buffers beyond it. Frames are capped
  // at kDefaultMaxBody (64 MiB) already; this matches.
  std::size_t max_size = std::size_t{64} << 20;
};

// One per thread, never shared: simdjson's parser is single-threaded state.
// Wraps the simdjson On-Demand parser so that this header does not depend on
// simdjson.h (a forward declaration of simdjson::ondemand::parser is
// impossible: it is a namespace alias chosen by the compile flags, and
// declaring it clashes with simdjson.h).
//
// Constructing allocates simdjson's buffers for documents up to 4 KiB (may
// throw std::bad_alloc, like any constructor). They grow to the largest
// document seen and are kept, and the copy path's scratch buffer likewise,
// so steady-state parsing allocates only the strings of the result. A
// moved-from parser may only be destroyed or assigned to.
class JsonParser {
 public:
  explicit JsonParser(JsonLimits limits = {});
  ~JsonParser();
  JsonParser(JsonParser&&) noexcept;
  JsonParser& operator=(JsonParser&&) noexcept;
  JsonParser(const JsonParser&) = delete;
  JsonParser& operator=(const JsonParser&) = delete;

  const JsonLimits& limits() const noexcept { return limits_; }

 private:
  struct Impl;  // simdjson parser + scratch buffer, in codec/json_reader.hpp
  friend struct JsonParserAccess;
  JsonLimits limits_;
  std::unique_ptr<Impl> impl_;
};

enum class JsonError : std::uint8_t {
  none = 0,
  invalid_json,   // not well-formed JSON: syntax, bad escape, bad utf-8, empty
                  // or whitespace-only text, trailing content after the root
  wrong_type,     // well-formed, but the root or a known member has a type
                  // this message does not allow (see each struct). The
                  // parse stops at the first wrong member, so on this error
                  // path the text is validated once more to the end: a text
                  // that is not JSON at all reports that instead.
  too_deep,       // nesting beyond JsonLimits::max_depth
  too_large,      // document beyond JsonLimits::max_size (or out of memory)
};
// "none", "invalid_json", ... : a static string, never null.
const char* to_string(JsonError e) noexcept;

// An object member we do not model, kept so it round-trips: `key` is the raw
// key text as received (still escaped, without the quotes); `value` is the
// value's JSON text with the insignificant whitespace removed, every scalar
// token (string with its escapes, number digits) exactly as received.
// Duplicate keys keep the first position and the last value (JSON.parse
// does the same); keys are compared as raw text.
struct RawMember {
  std::string key;
  std::string value;
  bool operator==(const RawMember&) const = default;
};

// Member semantics shared by the structs below:
// - a known member whose value is JSON `null` is treated as absent (the
//   reference tests these with truthiness or `||`, where null == undefined);
// - a known member of another type than the one listed is wrong_type, except
//   where a member says otherwise;
// - unknown members go to `extra`, in the order received;
// - string values are unescaped (keys too, for matching: "st\u0061rt" is
//   start); a repeated known member: the last one wins;
// - a \u escape of a lone utf-16 surrogate ("\ud800") is invalid_json,
//   anywhere in the document: JSON.parse accepts it, but our strings are
//   utf-8, which cannot hold one (and simdjson refuses it).

// handshake: {"type":"dock"|"client", "protocol":1, "id", "hostname",
// "tags":[..], "default":bool, "version", "route", "token", ...}
// An absent string member is "". The hub's reply {"type":"terminal",
// "version":..} parses with the same function.
struct Handshake {
  // Only a JSON number that fits a double. Anything else (a string "1",
  // true, a number like 1e400) leaves this empty and is kept verbatim in
  // `extra`, because the reference compares with `!== 1`, so such a
  // handshake fails with the protocol error, which the engine must give.
  std::optional<double> protocol;
  std::string type;
  std::string id;
  std::string hostname;
  std::vector<std::string> tags;  // an array of strings, or one string = [s]
  bool is_default = false;        // JSON `default`: true/false (null = false)
  std::string version;
  std::optional<std::string> route;  // clients: dock id or tag
  std::optional<std::string> token;  // hub access token (ours, optional)
  std::vector<RawMember> extra;
  bool operator==(const Handshake&) const = default;
};

// A service. Every member but id is optional; unknown members are kept.
struct Service {
  std::string id;  // "" when absent (an add/update payload has no id)
  std::optional<std::string> start;
  std::optional<std::string> build;
  // An array of strings; a single string s is taken as [s] (the reference
  // does [].concat(x)) and written back as an array.
  std::optional<std::vector<std::string>> docks;
  std::optional<std::vector<std::string>> tags;
  // `limit` is used for placement only when it is a JSON number (the
  // reference tests typeof === 'number'). Any other non-null value (a
  // string "2", true, an object, a number too large for a double) sets
  // limit_raw instead: its JSON text, written back as is. At most one of
  // the two is set.
  std::optional<double> limit;
  std::optional<std::string> limit_raw;
  // An object; keys unescaped, in order, duplicates: first position, last
  // value. A string value is unescaped. A value of another type is kept as
  // its JSON text (5 -> "5", true -> "true", null -> "null", {"a":1} ->
  // "{\"a\":1}"): for scalars that is what a Node dock puts into the child's
  // environment (it stringifies values), and it keeps env a plain string
  // map. to_json writes every value back as a JSON string.
  std::optional<std::vector<std::pair<std::string, std::string>>> env;
  std::optional<std::string> revision;
  std::optional<std::string> deployed;
  std::optional<std::string> cwd;
  std::optional<bool> stopped;  // true/false only
  std::vector<RawMember> extra;
  bool operator==(const Service&) const = default;
};

// One dock in a ps reply: {id, hostname, tags, list:[process...]}; the
// processes are kept as JSON text (the hub only concatenates them); a
// process may be any JSON value (the reference does not look inside). An
// absent id/hostname is "", an absent tags/list is empty.
struct DockProcesses {
  std::string id;
  std::string hostname;
  std::vector<std::string> tags;  // array of strings, or one string = [s]
  std::vector<std::string> list;  // JSON text of each process, minified
  std::vector<RawMember> extra;
  bool operator==(const DockProcesses&) const = default;
};

// The result of a parse: a value, or an error with the byte offset (from
// the start of the text) where it was found, never beyond the text. The
// offset is best effort: exact for wrong_type and too_deep (the start of the
// offending value), the position simdjson stopped at for syntax errors, 0
// for an error found before parsing started (too_large, empty text, and
// errors of simdjson's first pass such as invalid utf-8 or an unclosed
// string).
template <class T>
struct Parsed {
  std::optional<T> value;
  JsonError error = JsonError::none;
  std::size_t error_offset = 0;
  explicit operator bool() const noexcept { return value.has_value(); }
};

// ---- Parse in place: `text` must satisfy the PaddedText contract (else the
// result is undefined behaviour: simdjson reads the padding). `parser` is the
// calling thread's parser. The root type each function accepts:
//   handshake        an object (anything else: wrong_type)
//   service          an object
//   service_or_null  an object, or `null` (sync's payload): value holds an
//                    empty optional then
//   service_list     an array of objects (list reply)
//   ps               an array of objects (ps reply)
//   scalar_raw       a number (spawn pid) or a string (exit code / signal):
//                    value is the JSON text of the scalar, trimmed of
//                    whitespace, quotes and escapes included ("\"SIGTERM\"",
//                    "900"); any other root is wrong_type.
Parsed<Handshake> parse_handshake(JsonParser& parser, PaddedText text);
Parsed<Service> parse_service(JsonParser& parser, PaddedText text);
Parsed<std::optional<Service>> parse_service_or_null(JsonParser& parser, PaddedText text);
Parsed<std::vector<Service>> parse_service_list(JsonParser& parser, PaddedText text);
Parsed<std::vector<DockProcesses>> parse_ps(JsonParser& parser, PaddedText text);
Parsed<std::string> parse_scalar_raw(JsonParser& parser, PaddedText text);

// ---- The same for text without padding: copied into the parser's scratch
// buffer first (one memcpy; the scratch grows to the largest text seen and
// is reused). Same results and errors as the in-place functions.
Parsed<Handshake> parse_handshake_copy(JsonParser& parser, std::string_view text);
Parsed<Service> parse_service_copy(JsonParser& parser, std::string_view text);
Parsed<std::optional<Service>> parse_service_or_null_copy(JsonParser& parser,
                                                          std::string_view text);
Parsed<std::vector<Service>> parse_service_list_copy(JsonParser& parser, std::string_view text);
Parsed<std::vector<DockProcesses>> parse_ps_copy(JsonParser& parser, std::string_view text);
Parsed<std::string> parse_scalar_raw_copy(JsonParser& parser, std::string_view text);

// ---- Writer: appends compact JSON to a std::string, escaping strings the
// way JSON.stringify does: `"` and `\` get a backslash, \b \f \n \r \t their
// short forms, the other bytes below 0x20 \u00xx (lowercase hex); every
// other byte, 0x7f and utf-8 included, is copied as is (the caller passes
// utf-8; invalid utf-8 is not repaired).
//
// The writer inserts the commas; the caller keeps the structure well formed
// (every begin_ has its end_, a key before each value inside an object, a
// value after each key). It does not check: misuse writes invalid JSON, it
// never crashes. `out` must outlive the writer; the writer only appends.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);             // escapes k
  JsonWriter& raw_key(std::string_view escaped);   // k already escaped, no quotes
  JsonWriter& string(std::string_view s);
  // As JS Number#toString: integers without ".0" (up to 1e21), otherwise the
  // shortest text that reads back as the same double, in JS's layout
  // (0.000001, 1e-7, 1.5e+300). NaN and infinities are written as null and
  // -0 as 0, like JSON.stringify.
  JsonWriter& number(double v);
  JsonWriter& integer(std::int64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);  // a complete JSON value, copied as is
 private:
  void comma();
  std::string& out_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool after_key_ = false;
};

// JSON whitespace (space, tab, LF, CR; RFC 8259 section 2) off both ends,
// or off the end only. The result views `s`.
std::string_view trim_json_space(std::string_view s) noexcept;
std::string_view trim_json_space_right(std::string_view s) noexcept;

void append_escaped(std::string& out, std::string_view s);  // with quotes
void append_number(std::string& out, double v);              // as JsonWriter::number

// ---- Serializers. Service members in the order the reference hub stores
// them (JS insertion order of `xtend({id}, select(opts, [start, build, limit,
// docks, tags, revision, env]))`, then the deploy/status members): id,
// start, build, limit (or limit_raw), docks, tags, revision, env, deployed,
// cwd, stopped, then the unknown members in order. Only present members are
// written; an empty id counts as absent, so an add payload round-trips
// without one.
// Handshake: type, id, hostname, tags, default, version, route, token,
// unknown members, protocol (the reference sender appends protocol last).
// Empty strings, empty tags and default:false are not written (they parse
// back the same).
// DockProcesses: id, hostname, tags, list, unknown members; all four always.
// The JsonWriter overloads append one value at the writer's position (inside
// an array, or after a key).
void to_json(JsonWriter& w, const Handshake& h);
void to_json(JsonWriter& w, const Service& s);
void to_json(JsonWriter& w, const DockProcesses& d);
std::string to_json(const Handshake& h);
std::string to_json(const Service& s);
std::string to_json(const std::vector<Service>& list);
std::string to_json(const std::vector<DockProcesses>& docks);

}  // namespace hms

// HTTP head parser: heads that must parse. Their malformed twins are in
// http_error_test.cpp.
//
// Every input sits at the end of a guard page (hms::test::Guarded), so a read
// past `len` crashes the test rather than passing by luck.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "hms/http.hpp"
#include "support/guarded.hpp"

namespace {

using hms::HttpError;
using hms::HttpMethod;
using hms::HttpResult;
using hms::HttpStatus;
using hms::RequestHead;
using hms::ResponseHead;

// The exact heads the reference sends (captured from Node 20 http.request in
// hms-protocol's dock and client) and those curl 7.88.1 sends.
constexpr std::string_view kDockConnect =
    "CONNECT / HTTP/1.1\r\norigin: dock-a\r\nHost: 127.0.0.1:10002\r\n"
    "Connection: keep-alive\r\n\r\n";
constexpr std::string_view kClientConnect =
    "CONNECT / HTTP/1.1\r\nHost: 127.0.0.1:10002\r\nConnection: keep-alive\r\n\r\n";
constexpr std::string_view kCurlRoot =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:10002\r\nUser-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n\r\n";
constexpr std::string_view kCurlMetrics =
    "GET /metrics HTTP/1.1\r\nHost: localhost:9100\r\nUser-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n\r\n";
// `curl -T file` (a deploy upload), and Node streaming a body: chunked.
constexpr std::string_view kCurlPut =
    "PUT /deploy/web HTTP/1.1\r\nHost: 127.0.0.1:10002\r\nUser-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
constexpr std::string_view kNodeChunkedPut =
    "PUT /web HTTP/1.1\r\nHost: 127.0.0.1:10002\r\nConnection: keep-alive\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

// A parse whose input stays alive (and guarded) as long as the views do.
struct Request {
  explicit Request(std::string_view bytes, std::size_t max = hms::kMaxHeadSize) : in(bytes) {
    r = hms::parse_request_head(in.chars(), in.size(), &head, max);
  }
  bool holds(std::string_view v) const {
    return v.data() == nullptr ||
           (v.data() >= in.chars() && v.data() + v.size() <= in.chars() + in.size());
  }
  hms::test::Guarded in;
  RequestHead head;
  HttpResult r;
};

struct Response {
  explicit Response(std::string_view bytes, std::size_t max = hms::kMaxHeadSize) : in(bytes) {
    r = hms::parse_response_head(in.chars(), in.size(), &head, max);
  }
  hms::test::Guarded in;
  ResponseHead head;
  HttpResult r;
};

void expect_complete(const HttpResult& r, std::size_t size) {
  EXPECT_EQ(r.status, HttpStatus::complete);
  EXPECT_EQ(r.size, size);
  EXPECT_EQ(r.error, HttpError::none);
}

// Every proper prefix of a head is need_more (never an error), the whole head
// is complete, and bytes after it do not change the size. Each prefix gets
// its own guard page.
template <class Parse>
void expect_split_scan(std::string_view head, Parse parse) {
  for (std::size_t k = 0; k < head.size(); ++k) {
    hms::test::Guarded g(head.substr(0, k));
    const HttpResult r = parse(g.chars(), g.size());
    ASSERT_EQ(r.status, HttpStatus::need_more) << "prefix " << k << " of " << head.size();
    EXPECT_EQ(r.error, HttpError::none);
  }
  const std::string more = std::string(head) + "\x01\x00\x00\x00\x00\x00\x00GET /";
  for (std::size_t k = head.size(); k <= more.size(); ++k) {
    hms::test::Guarded g(std::string_view(more).substr(0, k));
    const HttpResult r = parse(g.chars(), g.size());
    ASSERT_EQ(r.status, HttpStatus::complete) << "prefix " << k;
    EXPECT_EQ(r.size, head.size());
  }
}

void expect_request_split(std::string_view head) {
  expect_split_scan(head, [](const char* p, std::size_t n) {
    RequestHead h;
    return hms::parse_request_head(p, n, &h);
  });
}

void expect_response_split(std::string_view head) {
  expect_split_scan(head, [](const char* p, std::size_t n) {
    ResponseHead h;
    return hms::parse_response_head(p, n, &h);
  });
}

// A head of exactly `size` bytes: a request-line, filler fields, blank line.
std::string head_of_size(std::size_t size) {
  std::string h = "GET / HTTP/1.1\r\n";
  const std::string_view tail = "\r\n";
  const std::string_view prefix = "x-pad: ";
  // Lines of 200 bytes (few enough to stay under kMaxHeaders for 8 KiB)
  // until the rest fits one line.
  while (size - h.size() - tail.size() > 200) {
    h += prefix;
    h.append(200 - prefix.size() - 2, 'a');
    h += "\r\n";
  }
  const std::size_t rest = size - h.size() - tail.size();
  if (rest >= prefix.size() + 2) {
    h += prefix;
    h.append(rest - prefix.size() - 2, 'b');
    h += "\r\n";
  } else {
    h.resize(h.size() - 2);  // too little room for a line: grow the last one
    h.append(rest, 'a');
    h += "\r\n";
  }
  h += tail;
  return h;
}

// ---- The reference's own heads.

TEST(HttpRequest, ReferenceDockConnect) {
  Request p(kDockConnect);
  expect_complete(p.r, kDockConnect.size());
  EXPECT_EQ(p.head.method, HttpMethod::connect);
  EXPECT_EQ(p.head.method_text, "CONNECT");
  EXPECT_EQ(p.head.target, "/");
  EXPECT_EQ(p.head.origin, "dock-a");
  EXPECT_EQ(p.head.host, "127.0.0.1:10002");
  EXPECT_EQ(p.head.upgrade.data(), nullptr);
  EXPECT_EQ(p.head.transfer_encoding.data(), nullptr);
  EXPECT_FALSE(p.head.has_content_length);
  EXPECT_EQ(p.head.content_length, 0u);
  EXPECT_EQ(p.head.minor_version, 1);
  for (auto v : {p.head.method_text, p.head.target, p.head.origin, p.head.host}) {
    EXPECT_TRUE(p.holds(v));
  }
}

TEST(HttpRequest, ReferenceClientConnectHasNoOrigin) {
  Request p(kClientConnect);
  expect_complete(p.r, kClientConnect.size());
  EXPECT_EQ(p.head.method, HttpMethod::connect);
  EXPECT_EQ(p.head.origin.data(), nullptr);  // absent, not empty
  EXPECT_EQ(p.head.host, "127.0.0.1:10002");
}

TEST(HttpRequest, CurlGetRoot) {
  Request p(kCurlRoot);
  expect_complete(p.r, kCurlRoot.size());
  EXPECT_EQ(p.head.method, HttpMethod::get);
  EXPECT_EQ(p.head.target, "/");
  EXPECT_EQ(p.head.host, "127.0.0.1:10002");
  EXPECT_EQ(p.head.origin.data(), nullptr);
}

TEST(HttpRequest, CurlGetMetrics) {
  Request p(kCurlMetrics);
  expect_complete(p.r, kCurlMetrics.size());
  EXPECT_EQ(p.head.method, HttpMethod::get);
  EXPECT_EQ(p.head.target, "/metrics");
  EXPECT_EQ(p.head.host, "localhost:9100");
}

TEST(HttpRequest, CurlPutWithContentLength) {
  Request p(std::string(kCurlPut) + "hello");
  expect_complete(p.r, kCurlPut.size());
  EXPECT_EQ(p.head.method, HttpMethod::put);
  EXPECT_EQ(p.head.target, "/deploy/web");
  EXPECT_TRUE(p.head.has_content_length);
  EXPECT_EQ(p.head.content_length, 5u);
}

TEST(HttpRequest, NodeChunkedPutReportsTransferEncoding) {
  Request p(std::string(kNodeChunkedPut) + "5\r\nhello\r\n0\r\n\r\n");
  expect_complete(p.r, kNodeChunkedPut.size());
  EXPECT_EQ(p.head.transfer_encoding, "chunked");
  EXPECT_FALSE(p.head.has_content_length);
  EXPECT_EQ(p.head.expect.data(), nullptr);
}

TEST(HttpRequest, CurlPutReportsExpect) {
  Request p(std::string(kCurlPut) + "hello");
  expect_complete(p.r, kCurlPut.size());
  EXPECT_EQ(p.head.expect, "100-continue");
  EXPECT_TRUE(p.holds(p.head.expect));
}

// ---- find_header: any field of a complete head, by name.

TEST(HttpFindHeader, AnyFieldCaseInsensitively) {
  Request p(kCurlPut);
  ASSERT_EQ(p.r.status, HttpStatus::complete);
  EXPECT_EQ(hms::find_header(p.in.chars(), p.r.size, "user-agent"), "curl/7.88.1");
  EXPECT_EQ(hms::find_header(p.in.chars(), p.r.size, "ACCEPT"), "*/*");
  EXPECT_EQ(hms::find_header(p.in.chars(), p.r.size, "Expect"), "100-continue");
  const std::string_view host = hms::find_header(p.in.chars(), p.r.size, "host");
  EXPECT_EQ(host, "127.0.0.1:10002");
  EXPECT_TRUE(p.holds(host));
  // Absent: a null view, unlike an empty value.
  EXPECT_EQ(hms::find_header(p.in.chars(), p.r.size, "location").data(), nullptr);
  EXPECT_EQ(hms::find_header(p.in.chars(), p.r.size, "host:").data(), nullptr);
  EXPECT_EQ(hms::find_header(p.in.chars(), p.r.size, "").data(), nullptr);
}

TEST(HttpFindHeader, FirstOfRepeatedTrimmedEmptyAndOddHeads) {
  const std::string head =
      "\nGET / HTTP/1.1\nX-A:  one \t\r\nx-a: two\nEmpty:\r\nLast: z\n\r\n";
  Request p(head);
  ASSERT_EQ(p.r.status, HttpStatus::complete);
  EXPECT_EQ(hms::find_header(p.in.chars(), p.r.size, "x-a"), "one");
  const std::string_view empty = hms::find_header(p.in.chars(), p.r.size, "empty");
  EXPECT_NE(empty.data(), nullptr);
  EXPECT_EQ(empty, "");
  EXPECT_EQ(hms::find_header(p.in.chars(), p.r.size, "last"), "z");
  // The request-line is not a field, even if it looks like one.
  Request q("X: / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(q.r.status, HttpStatus::error);
  Request r("GET /x:y HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.r.status, HttpStatus::complete);
  EXPECT_EQ(hms::find_header(r.in.chars(), r.r.size, "get /x").data(), nullptr);
}

TEST(HttpFindHeader, StopsAtTheBlankLineAndTheGivenSize) {
  const std::string head = "HTTP/1.1 200 OK\r\nA: 1\r\n\r\nB: 2\r\n\r\n";
  Response p(head);
  ASSERT_EQ(p.r.status, HttpStatus::complete);
  EXPECT_EQ(hms::find_header(p.in.chars(), p.r.size, "a"), "1");
  // "B: 2" is the body, not a field.
  EXPECT_EQ(hms::find_header(p.in.chars(), p.in.size(), "b").data(), nullptr);
  // A broken precondition (a cut head) never reads past `size`; every cut
  // of a guarded copy finds the field only once its line is whole.
  for (std::size_t k = 0; k <= p.r.size; ++k) {
    hms::test::Guarded g(std::string_view(head).substr(0, k));
    const std::string_view a = hms::find_header(g.chars(), g.size(), "a");
    if (k >= 22) {
      EXPECT_EQ(a, "1") << k;
    } else {
      EXPECT_EQ(a.data(), nullptr) << k;
    }
  }
  EXPECT_EQ(hms::find_header(nullptr, 0, "a").data(), nullptr);
}

// ---- Where the head ends.

TEST(HttpRequest, SizeStopsAtTheBlankLine) {
  // A ping frame and the start of a handshake frame in the same read as the
  // head: they belong to the protocol, not the head.
  std::string bytes(kDockConnect);
  bytes.append("\x04\x00\x00\x00\x00\x00\x00", 7);
  bytes.append("\x01\x00\x00\x20\x00\x00\x00\x00", 8);
  Request p(bytes);
  expect_complete(p.r, kDockConnect.size());
  EXPECT_EQ(p.head.origin, "dock-a");
}

TEST(HttpRequest, SizeStopsAtTheBlankLineEvenIfMoreHeadsFollow) {
  const std::string two = std::string(kCurlRoot) + std::string(kCurlMetrics);
  Request p(two);
  expect_complete(p.r, kCurlRoot.size());
  EXPECT_EQ(p.head.target, "/");
}

TEST(HttpRequest, SplitAtEveryOffset) {
  for (auto head : {kDockConnect, kClientConnect, kCurlRoot, kCurlMetrics, kCurlPut,
                    kNodeChunkedPut}) {
    SCOPED_TRACE(head);
    expect_request_split(head);
  }
}

TEST(HttpRequest, SplitAtEveryOffsetWithBareLf) {
  expect_request_split("CONNECT / HTTP/1.1\norigin: dock-a\nHost: h\n\n");
  expect_request_split("GET / HTTP/1.1\r\nHost: h\n\r\n");
  expect_request_split("\nGET / HTTP/1.0\r\n\r\n");
}

TEST(HttpRequest, IncompleteLeavesOutUntouched) {
  hms::test::Guarded g(kDockConnect.substr(0, kDockConnect.size() - 1));
  RequestHead h;
  h.target = "sentinel";
  h.content_length = 77;
  const HttpResult r = hms::parse_request_head(g.chars(), g.size(), &h);
  EXPECT_EQ(r.status, HttpStatus::need_more);
  EXPECT_EQ(h.target, "sentinel");
  EXPECT_EQ(h.content_length, 77u);
}

TEST(HttpRequest, EmptyInputNeedsMore) {
  const HttpResult r = hms::parse_request_head(static_cast<const char*>(nullptr), 0, nullptr);
  EXPECT_EQ(r.status, HttpStatus::need_more);
  const HttpResult s = hms::parse_response_head(static_cast<const char*>(nullptr), 0, nullptr);
  EXPECT_EQ(s.status, HttpStatus::need_more);
}

TEST(HttpRequest, NullOutOnlyMeasures) {
  hms::test::Guarded g(kDockConnect);
  const HttpResult r = hms::parse_request_head(g.data(), g.size(), nullptr);
  expect_complete(r, kDockConnect.size());
}

TEST(HttpRequest, ByteOverloadMatchesCharOverload) {
  hms::test::Guarded g(kCurlRoot);
  RequestHead a, b;
  const HttpResult ra = hms::parse_request_head(g.data(), g.size(), &a);
  const HttpResult rb = hms::parse_request_head(g.chars(), g.size(), &b);
  EXPECT_EQ(ra.size, rb.size);
  EXPECT_EQ(a.target.data(), b.target.data());
}

// ---- Line ends, names, values.

TEST(HttpRequest, BareLfLineEnds) {
  constexpr std::string_view head = "CONNECT / HTTP/1.1\norigin: dock-a\nHost: h:1\n\n";
  Request p(head);
  expect_complete(p.r, head.size());
  EXPECT_EQ(p.head.origin, "dock-a");
  EXPECT_EQ(p.head.host, "h:1");
}

TEST(HttpRequest, MixedLineEnds) {
  constexpr std::string_view head = "GET / HTTP/1.1\nHost: h\r\nX: y\n\r\n";
  Request p(head);
  expect_complete(p.r, head.size());
  EXPECT_EQ(p.head.host, "h");
}

TEST(HttpRequest, OneLeadingEmptyLineIsSkipped) {
  // RFC 9112 §2.2: ignore (at least) one empty line before the request-line.
  for (std::string_view head : {"\r\nGET /x HTTP/1.1\r\n\r\n", "\nGET /x HTTP/1.1\r\n\r\n"}) {
    Request p(head);
    expect_complete(p.r, head.size());
    EXPECT_EQ(p.head.target, "/x");
  }
}

TEST(HttpRequest, NoHeadersAtAll) {
  constexpr std::string_view head = "GET / HTTP/1.0\r\n\r\n";
  Request p(head);
  expect_complete(p.r, head.size());
  EXPECT_EQ(p.head.minor_version, 0);
  EXPECT_EQ(p.head.host.data(), nullptr);
}

TEST(HttpRequest, HeaderNamesAreCaseInsensitive) {
  constexpr std::string_view head =
      "CONNECT / HTTP/1.1\r\nORIGIN: a\r\nhOsT: b\r\nUpGrade: hms-protocol\r\n"
      "CONTENT-length: 12\r\ntransfer-ENCODING: identity\r\n\r\n";
  Request p(head);
  expect_complete(p.r, head.size());
  EXPECT_EQ(p.head.origin, "a");
  EXPECT_EQ(p.head.host, "b");
  EXPECT_EQ(p.head.upgrade, "hms-protocol");
  EXPECT_EQ(p.head.content_length, 12u);
  EXPECT_EQ(p.head.transfer_encoding, "identity");
}

TEST(HttpRequest, NamesThatOnlyLookAlikeAreIgnored) {
  constexpr std::string_view head =
      "GET / HTTP/1.1\r\nOrigins: a\r\nX-Host: b\r\nHos: c\r\nContent-Length2: x\r\n\r\n";
  Request p(head);
  expect_complete(p.r, head.size());
  EXPECT_EQ(p.head.origin.data(), nullptr);
  EXPECT_EQ(p.head.host.data(), nullptr);
  EXPECT_FALSE(p.head.has_content_length);
}

TEST(HttpRequest, ValuesAreTrimmedOfSpacesAndTabs) {
  constexpr std::string_view head =
      "GET / HTTP/1.1\r\norigin: \t dock a \t\r\nHost:h\r\nUpgrade:  \t \r\n\r\n";
  Request p(head);
  expect_complete(p.r, head.size());
  EXPECT_EQ(p.head.origin, "dock a");  // inner space kept
  EXPECT_EQ(p.head.host, "h");
  EXPECT_NE(p.head.upgrade.data(), nullptr);  // present...
  EXPECT_TRUE(p.head.upgrade.empty());        // ...and empty
  EXPECT_TRUE(p.holds(p.head.upgrade));
}

TEST(HttpRequest, ValuesMayHoldObsText) {
  // RFC 9110 §5.5: obs-text (0x80-0xFF) is field content, e.g. raw UTF-8.
  const std::string head = "GET / HTTP/1.1\r\norigin: d\xc3\xa9p\xc3\xb4t\r\n\r\n";
  Request p(head);
  expect_complete(p.r, head.size());
  EXPECT_EQ(p.head.origin, "d\xc3\xa9p\xc3\xb4t");
}

TEST(HttpRequest, NamesMayHoldAnyTokenCharacter) {
  constexpr std::string_view head = "GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n";
  Request p(head);
  expect_complete(p.r, head.size());
}

TEST(HttpRequest, Methods) {
  struct Case {
    std::string_view head;
    HttpMethod method;
    std::string_view text;
  };
  for (const Case& c : {Case{"GET / HTTP/1.1\r\n\r\n", HttpMethod::get, "GET"},
                        Case{"PUT / HTTP/1.1\r\n\r\n", HttpMethod::put, "PUT"},
                        Case{"CONNECT / HTTP/1.1\r\n\r\n", HttpMethod::connect, "CONNECT"},
                        Case{"DELETE / HTTP/1.1\r\n\r\n", HttpMethod::other, "DELETE"},
                        Case{"GETS / HTTP/1.1\r\n\r\n", HttpMethod::other, "GETS"},
                        Case{"CONNEC / HTTP/1.1\r\n\r\n", HttpMethod::other, "CONNEC"}}) {
    Request p(c.head);
    expect_complete(p.r, c.head.size());
    EXPECT_EQ(p.head.method, c.method) << c.head;
    EXPECT_EQ(p.head.method_text, c.text);
  }
}

TEST(HttpRequest, TargetsAsSent) {
  for (std::string_view t : {"/", "/metrics", "/a/b?c=d&e=%20#f", "*", "127.0.0.1:10002",
                             "http://h/x"}) {
    const std::string head = "CONNECT " + std::string(t) + " HTTP/1.1\r\n\r\n";
    Request p(head);
    expect_complete(p.r, head.size());
    EXPECT_EQ(p.head.target, t);
  }
}

TEST(HttpRequest, ContentLengthValues) {
  struct Case {
    std::string_view value;
    std::size_t expect;
  };
  for (const Case& c : {Case{"0", 0}, Case{"42", 42}, Case{"007", 7},
                        Case{" 12 ", 12}, Case{"18446744073709551615", SIZE_MAX}}) {
    const std::string head = "PUT / HTTP/1.1\r\nContent-Length:" + std::string(c.value) +
                             "\r\n\r\n";
    Request p(head);
    expect_complete(p.r, head.size());
    EXPECT_TRUE(p.head.has_content_length);
    EXPECT_EQ(p.head.content_length, c.expect) << c.value;
  }
}

TEST(HttpRequest, ExactlyMaxHeadersIsFine) {
  std::string head = "GET / HTTP/1.1\r\n";
  for (std::size_t i = 0; i < hms::kMaxHeaders; ++i) head += "x: " + std::to_string(i) + "\r\n";
  head += "\r\n";
  Request p(head);
  expect_complete(p.r, head.size());
}

TEST(HttpRequest, RepeatedUnknownFieldsAreFine) {
  constexpr std::string_view head = "GET / HTTP/1.1\r\nAccept: a\r\nAccept: b\r\n\r\n";
  Request p(head);
  expect_complete(p.r, head.size());
}

// ---- The size limit.

TEST(HttpRequest, HeadOfExactlyTheLimitParses) {
  const std::string head = head_of_size(hms::kMaxHeadSize);
  ASSERT_EQ(head.size(), hms::kMaxHeadSize);
  Request p(head + "frames");
  expect_complete(p.r, hms::kMaxHeadSize);
}

TEST(HttpRequest, LimitCountsTheBlankLine) {
  // The same head with the last byte of its blank line missing still waits:
  // with max_size bytes present and no terminator, it is not yet too large.
  const std::string head = head_of_size(hms::kMaxHeadSize);
  Request p(std::string_view(head).substr(0, head.size() - 1));
  EXPECT_EQ(p.r.status, HttpStatus::need_more);
}

TEST(HttpRequest, CustomLimit) {
  Request at(kDockConnect, kDockConnect.size());
  expect_complete(at.r, kDockConnect.size());
  Request small(kDockConnect, 16);
  EXPECT_EQ(small.r.status, HttpStatus::error);
  EXPECT_EQ(small.r.error, HttpError::head_too_large);
}

TEST(HttpRequest, HeadSizeHelperIsExact) {
  for (std::size_t n : {40u, 218u, 219u, 220u, 225u, 1000u, 8191u, 8192u, 8193u}) {
    const std::string head = head_of_size(n);
    ASSERT_EQ(head.size(), n);
    Request p(head, n);
    expect_complete(p.r, n);
  }
}

// ---- Responses.

TEST(HttpResponse, UpgradeResponse) {
  Response p(hms::kUpgradeResponse);
  expect_complete(p.r, hms::kUpgradeResponse.size());
  EXPECT_EQ(p.head.status, 101);
  EXPECT_EQ(p.head.reason, "Swiching Protocols");
  EXPECT_EQ(p.head.minor_version, 1);
}

TEST(HttpResponse, UpgradeResponseFollowedByFrames) {
  std::string bytes(hms::kUpgradeResponse);
  bytes.append("\x02\x00\x00\x05\x00\x00\x00{\"a\"}", 12);
  Response p(bytes);
  expect_complete(p.r, hms::kUpgradeResponse.size());
  EXPECT_EQ(p.head.status, 101);
}

TEST(HttpResponse, SplitAtEveryOffset) {
  expect_response_split(hms::kUpgradeResponse);
  expect_response_split("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  expect_response_split("HTTP/1.0 404\n\n");
}

TEST(HttpResponse, OtherStatuses) {
  struct Case {
    std::string_view head;
    int status;
    std::string_view reason;
  };
  for (const Case& c : {Case{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, "OK"},
                        Case{"HTTP/1.1 204\r\n\r\n", 204, ""},
                        Case{"HTTP/1.1 400 \r\n\r\n", 400, ""},
                        Case{"HTTP/1.0 503 Service\tUnavailable\n\n", 503, "Service\tUnavailable"},
                        Case{"HTTP/1.1 999 x\r\n\r\n", 999, "x"}}) {
    Response p(c.head);
    expect_complete(p.r, c.head.size());
    EXPECT_EQ(p.head.status, c.status) << c.head;
    EXPECT_EQ(p.head.reason, c.reason) << c.head;
  }
}

TEST(HttpResponse, BodyFramingFields) {
  Response cl("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nX-Status: 0\r\n\r\nbuilt");
  expect_complete(cl.r, 51);
  EXPECT_TRUE(cl.head.has_content_length);
  EXPECT_EQ(cl.head.content_length, 5u);
  EXPECT_EQ(cl.head.transfer_encoding.data(), nullptr);
  EXPECT_EQ(hms::find_header(cl.in.chars(), cl.r.size, "x-status"), "0");

  Response te("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nTrailer: X-Status\r\n\r\n");
  ASSERT_EQ(te.r.status, HttpStatus::complete);
  EXPECT_FALSE(te.head.has_content_length);
  EXPECT_EQ(te.head.content_length, 0u);
  EXPECT_EQ(te.head.transfer_encoding, "gzip, chunked");
  EXPECT_EQ(hms::find_header(te.in.chars(), te.r.size, "trailer"), "X-Status");

  Response none(hms::kUpgradeResponse);
  EXPECT_FALSE(none.head.has_content_length);
  EXPECT_EQ(none.head.transfer_encoding.data(), nullptr);
  EXPECT_EQ(hms::find_header(none.in.chars(), none.r.size, "upgrade"), "hms-protocol");
}

TEST(HttpResponse, ContinueResponseIsAHead) {
  // What a server answers to Expect: 100-continue (tests/data/http has
  // Node's bytes; http_body_test.cpp compares them).
  Response p(std::string(hms::kContinueResponse) + "HTTP/1.1 200 OK\r\n\r\n");
  expect_complete(p.r, hms::kContinueResponse.size());
  EXPECT_EQ(p.head.status, 100);
  EXPECT_EQ(p.head.reason, "Continue");
}

TEST(HttpResponse, BodyIsNotPartOfTheHead) {
  constexpr std::string_view head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
  Response p(std::string(head) + "hello");
  expect_complete(p.r, head.size());
}

TEST(HttpResponse, ExactlyTheLimitParsesOneMoreDoesNot) {
  // kUpgradeResponse is 77 bytes: a limit of 77 fits, 76 does not.
  const std::size_t n = hms::kUpgradeResponse.size();
  Response fits(hms::kUpgradeResponse, n);
  expect_complete(fits.r, n);
  Response over(hms::kUpgradeResponse, n - 1);
  EXPECT_EQ(over.r.status, HttpStatus::error);
  EXPECT_EQ(over.r.error, HttpError::head_too_large);
  EXPECT_EQ(over.r.error_offset, n - 1);
}

TEST(Http, LooksLikeHttp) {
  // Methods, lower-case attempts at one, and line ends: answered as HTTP.
  for (char c : std::string_view("CGPDHOTgcz\r\n")) {
    EXPECT_TRUE(hms::looks_like_http(static_cast<std::uint8_t>(c))) << int{c};
  }
  // Frame type bytes 0..4, and other bytes: left to the frame decoder.
  for (int b : {0, 1, 2, 3, 4, 5, 9, int{' '}, int{'{'}, 0x7f, 0xff}) {
    EXPECT_FALSE(hms::looks_like_http(static_cast<std::uint8_t>(b))) << b;
  }
}

}  // namespace

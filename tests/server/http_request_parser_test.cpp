#include "cdcguard/server/http_request_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/fixtures.hpp"

namespace cdcguard::server {
namespace {

using State = HttpRequestParser::State;

HttpLimits small_limits() {
  HttpLimits l;
  l.max_head_bytes = 1024;
  l.max_header_fields = 8;
  l.max_body_bytes = 100;
  return l;
}

// Feeds `bytes` in pieces of `step` (0: all at once), as a socket might
// deliver them; returns the bytes consumed in total.
std::size_t feed_in_steps(HttpRequestParser& p, std::string_view bytes, std::size_t step) {
  std::size_t used = 0;
  if (step == 0) step = bytes.size();
  while (used < bytes.size() && (p.state() == State::Head || p.state() == State::Body)) {
    const std::size_t n = std::min(step, bytes.size() - used);
    const std::size_t took = p.feed(bytes.substr(used, n));
    used += took;
    if (took < n) break;  // the rest is not this request's
  }
  return used;
}

struct ParseCase {
  std::string name;
  std::string bytes;
  State state;
  int status = 0;            // when Failed
  std::string body;          // when Complete
  std::string message = {};  // part of the error message, when Failed
  bool keep_alive = true;
};

void PrintTo(const ParseCase& c, std::ostream* os) {
  *os << c.name;
}

class HttpParse : public testing::TestWithParam<ParseCase> {};

TEST_P(HttpParse, WholeAndByteByByteGiveTheSameResult) {
  const ParseCase& c = GetParam();
  for (const std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    HttpRequestParser p(small_limits());
    feed_in_steps(p, c.bytes, step);
    ASSERT_EQ(p.state(), c.state) << "step " << step << ": " << p.error_message();
    if (c.state == State::Complete) {
      EXPECT_EQ(p.request().body, c.body) << "step " << step;
      EXPECT_EQ(p.request().keep_alive, c.keep_alive) << "step " << step;
    }
    if (c.state == State::Failed) {
      EXPECT_EQ(p.error_status(), c.status) << "step " << step << ": " << p.error_message();
      EXPECT_NE(p.error_message().find(c.message), std::string::npos) << p.error_message();
    }
  }
}

const std::string kPost = "POST /validate?timeout=5s HTTP/1.1\r\nHost: x\r\n";

INSTANTIATE_TEST_SUITE_P(
    Server, HttpParse,
    testing::Values(
        ParseCase{"get-no-body", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", State::Complete, 0, ""},
        ParseCase{"content-length", kPost + "Content-Length: 5\r\n\r\nhello", State::Complete, 0, "hello"},
        ParseCase{"lf-only-line-ends", "POST / HTTP/1.1\nContent-Length: 2\n\nok", State::Complete, 0, "ok"},
        ParseCase{"leading-blank-lines", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", State::Complete, 0, ""},
        ParseCase{"chunked",
                  kPost + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
                  State::Complete, 0, "hello world"},
        ParseCase{"chunked-upper-hex-and-trailer",
                  kPost + "Transfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
                  State::Complete, 0, "0123456789"},
        ParseCase{"http10-closes", "GET / HTTP/1.0\r\n\r\n", State::Complete, 0, "", "", false},
        ParseCase{"http10-keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", State::Complete, 0,
                  "", "", true},
        ParseCase{"connection-close", "GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", State::Complete, 0, "",
                  "", false},
        ParseCase{"body-limit-exactly", kPost + "Content-Length: 100\r\n\r\n" + std::string(100, 'x'),
                  State::Complete, 0, std::string(100, 'x')},
        // The limit holds for every framing, and before a byte of the body is read.
        ParseCase{"content-length-over-limit", kPost + "Content-Length: 101\r\n\r\n", State::Failed, 413, "",
                  "larger than the limit of 100 bytes"},
        ParseCase{"content-length-huge", kPost + "Content-Length: 99999999999999999999999\r\n\r\n",
                  State::Failed, 413, ""},
        ParseCase{"chunk-over-limit", kPost + "Transfer-Encoding: chunked\r\n\r\n65\r\n", State::Failed, 413,
                  "", "larger than the limit of 100 bytes"},
        ParseCase{"chunks-adding-up-over-limit",
                  kPost + "Transfer-Encoding: chunked\r\n\r\n32\r\n" + std::string(50, 'a') + "\r\n33\r\n",
                  State::Failed, 413, ""},
        ParseCase{"chunk-size-overflow", kPost + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
                  State::Failed, 413, ""},
        // Request smuggling: RFC 9112 6.1 and 6.3.
        ParseCase{"te-and-cl", kPost + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                  State::Failed, 400, "", "both Transfer-Encoding and Content-Length"},
        ParseCase{"two-content-lengths", kPost + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
                  State::Failed, 400, "", "conflicting"},
        ParseCase{"same-content-length-twice", kPost + "Content-Length: 2\r\nContent-Length: 2\r\n\r\nok",
                  State::Complete, 0, "ok"},
        ParseCase{"content-length-sign", kPost + "Content-Length: +5\r\n\r\n", State::Failed, 400, ""},
        ParseCase{"gzip-coding", kPost + "Transfer-Encoding: gzip, chunked\r\n\r\n", State::Failed, 501, ""},
        ParseCase{"chunked-not-last", kPost + "Transfer-Encoding: chunked, gzip\r\n\r\n", State::Failed, 400,
                  ""},
        ParseCase{"te-in-http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", State::Failed, 400,
                  ""},
        ParseCase{"bad-chunk-size", kPost + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", State::Failed, 400,
                  ""},
        ParseCase{"chunk-without-crlf", kPost + "Transfer-Encoding: chunked\r\n\r\n2\r\nokXX", State::Failed,
                  400, ""},
        ParseCase{"obs-fold", kPost + "X-A: 1\r\n  continued\r\n\r\n", State::Failed, 400, "", "folding"},
        ParseCase{"space-before-colon", kPost + "Content-Length : 1\r\n\r\n", State::Failed, 400, ""},
        ParseCase{"nul-in-value", kPost + std::string("X-A: a\0b\r\n\r\n", 12), State::Failed, 400, ""},
        ParseCase{"bare-cr", "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", State::Failed, 400, ""},
        ParseCase{"http2-preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", State::Failed, 505, ""},
        ParseCase{"tls-client-hello", std::string("\x16\x03\x01\x02\x00\x01", 6), State::Failed, 400, "",
                  "not an HTTP/1.1 request"},
        ParseCase{"no-target", "GET  HTTP/1.1\r\n\r\n", State::Failed, 400, ""},
        ParseCase{"head-too-large", "GET / HTTP/1.1\r\nX-A: " + std::string(2000, 'a') + "\r\n\r\n",
                  State::Failed, 431, ""},
        ParseCase{
            "too-many-fields",
            "GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\nI: 1\r\n\r\n",
            State::Failed, 431, ""},
        ParseCase{"unknown-expectation", kPost + "Expect: something\r\nContent-Length: 1\r\n\r\n",
                  State::Failed, 417, ""},
        ParseCase{"trailer-too-large",
                  kPost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: " + std::string(2000, 'a') + "\r\n\r\n",
                  State::Failed, 431, ""},
        ParseCase{"head-incomplete", kPost + "Content-Length: 5\r\n", State::Head, 0, ""},
        ParseCase{"body-incomplete", kPost + "Content-Length: 5\r\n\r\nhel", State::Body, 0, ""}),
    testing_support::ScenarioName());

TEST(HttpParser, ReadsTheRequestLineAndHeaders) {
  HttpRequestParser p;
  const std::string bytes =
      "POST /validate?timeout=5s HTTP/1.1\r\nHost: x\r\nContent-Type:  application/json \r\n"
      "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{}";
  EXPECT_EQ(p.feed(bytes), bytes.size());
  ASSERT_EQ(p.state(), State::Complete);
  const HttpRequest& r = p.request();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/validate");
  EXPECT_EQ(r.query, "timeout=5s");
  EXPECT_EQ(r.header("content-TYPE"), "application/json");  // any case, trimmed
  EXPECT_TRUE(r.expects_continue);
  EXPECT_EQ(r.body, "{}");
}

TEST(HttpParser, StopsAtTheEndOfOneRequestSoAPipelinedOneIsLeft) {
  HttpRequestParser p;
  const std::string first = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  const std::string second = "GET /b HTTP/1.1\r\n\r\n";
  const std::string both = first + second;
  EXPECT_EQ(p.feed(both), first.size());
  ASSERT_EQ(p.state(), State::Complete);
  EXPECT_EQ(p.request().body, "abc");
  p.reset();
  EXPECT_EQ(p.feed(std::string_view(both).substr(first.size())), second.size());
  ASSERT_EQ(p.state(), State::Complete);
  EXPECT_EQ(p.request().path, "/b");
}

TEST(HttpParser, SaysWhenTheHeadIsInBeforeTheBody) {
  HttpRequestParser p;
  EXPECT_FALSE(p.started());
  p.feed("\r\n");
  EXPECT_FALSE(p.started()) << "blank lines before a request are not a request";
  p.feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_TRUE(p.started());
  EXPECT_TRUE(p.head_complete());
  EXPECT_EQ(p.state(), State::Body);
  EXPECT_TRUE(p.request().expects_continue);
}

TEST(HttpParser, AChunkThatWouldCrossTheLimitFailsBeforeItsDataArrives) {
  HttpLimits limits;
  limits.max_body_bytes = 4 * 1024 * 1024;
  HttpRequestParser p(limits);
  std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  p.feed(head);
  const std::string chunk(1024 * 1024, 'x');
  const std::string framed = "100000\r\n" + chunk + "\r\n";
  for (int i = 0; i < 4; ++i) ASSERT_EQ(p.feed(framed), framed.size()) << "chunk " << i;
  EXPECT_EQ(p.state(), State::Body);
  // The fifth MiB is announced: refused on its size line, its data never read.
  const std::size_t used = p.feed(framed);
  EXPECT_EQ(p.state(), State::Failed);
  EXPECT_EQ(p.error_status(), 413);
  EXPECT_EQ(used, std::string("100000\r\n").size());
  EXPECT_LE(p.request().body.size(), limits.max_body_bytes);
}

}  // namespace
}  // namespace cdcguard::server

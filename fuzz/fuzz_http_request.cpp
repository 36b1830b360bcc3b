// Any bytes as what a client sends on a connection: the request parser must
// end every input in a request or a refusal with a status, never read past
// what it was given, never hold a body over the limit, and give the same
// result whether the bytes come at once or one by one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cdcguard/server/http_request_parser.hpp"

namespace {

using cdcguard::server::HttpLimits;
using cdcguard::server::HttpRequestParser;

// Every request in `bytes` (pipelined), fed in pieces of `step`; a summary of
// what was read, to compare.
std::string parse_all(std::string_view bytes, std::size_t step, const HttpLimits& limits) {
  std::string summary;
  HttpRequestParser p(limits);
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::size_t n = std::min(step, bytes.size() - at);
    const std::size_t used = p.feed(bytes.substr(at, n));
    if (used > n) std::abort();
    at += used;
    if (p.request().body.size() > limits.max_body_bytes) std::abort();
    if (p.state() == HttpRequestParser::State::Complete) {
      const auto& r = p.request();
      summary += r.method + ' ' + r.path + ' ' + std::to_string(r.body.size()) + ' ' + r.body + '\n';
      p.reset();
    } else if (p.state() == HttpRequestParser::State::Failed) {
      if (p.error_status() < 400 || p.error_message().empty()) std::abort();
      summary += "failed " + std::to_string(p.error_status()) + '\n';
      return summary;
    } else if (used < n) {
      std::abort();  // took less than it was given without ending a request
    }
  }
  return summary;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  HttpLimits limits;
  limits.max_head_bytes = 512;
  limits.max_header_fields = 16;
  limits.max_body_bytes = 256;
  if (parse_all(bytes, bytes.size() + 1, limits) != parse_all(bytes, 1, limits)) std::abort();
  return 0;
}

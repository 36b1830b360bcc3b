#include "cdcguard/server/http_request_parser.hpp"

#include <algorithm>
#include <cstring>

namespace cdcguard::server {
namespace {

// RFC 9110 5.6.2: token = 1*tchar.
bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

char lower_char(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower_char);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower_char(x) == lower_char(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The comma-separated elements of a list-valued field (RFC 9110 5.6.1), trimmed.
std::vector<std::string_view> list_elements(std::string_view value) {
  std::vector<std::string_view> out;
  while (true) {
    const auto comma = value.find(',');
    const std::string_view part = trim(value.substr(0, comma));
    if (!part.empty()) out.push_back(part);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

// A printable field value: no NUL, CR or other controls but horizontal tab
// (obs-text, bytes >= 0x80, is allowed).
bool valid_field_value(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

constexpr std::size_t kMaxChunkLine = 4096;

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

HttpRequestParser::HttpRequestParser(HttpLimits limits) : limits_(limits) {}

void HttpRequestParser::reset() {
  state_ = State::Head;
  started_ = false;
  head_.clear();
  head_scanned_ = 0;
  request_ = HttpRequest{};
  error_status_ = 0;
  error_message_.clear();
  body_mode_ = BodyMode::None;
  remaining_ = 0;
  chunk_state_ = ChunkState::Size;
  line_.clear();
  trailer_bytes_ = 0;
}

bool HttpRequestParser::fail(int status, std::string message) {
  state_ = State::Failed;
  error_status_ = status;
  error_message_ = std::move(message);
  return false;
}

bool HttpRequestParser::finish() {
  state_ = State::Complete;
  return true;
}

std::size_t HttpRequestParser::feed(std::string_view data) {
  std::size_t used = 0;
  if (state_ == State::Head) used += feed_head(data);
  if (state_ == State::Body && used < data.size()) used += feed_body(data.substr(used));
  return used;
}

std::size_t HttpRequestParser::feed_head(std::string_view data) {
  std::size_t i = 0;
  if (!started_) {
    // RFC 9112 2.2: empty lines before the request line are ignored.
    while (i < data.size() && (data[i] == '\r' || data[i] == '\n')) ++i;
    if (i == data.size()) return i;
    started_ = true;
    // A TLS ClientHello on a plain port, or any other binary: refused at once
    // rather than after the head limit or the request timeout.
    if (!is_tchar(static_cast<unsigned char>(data[i]))) {
      fail(400, "not an HTTP/1.1 request");
      return i + 1;
    }
  }
  while (i < data.size()) {
    const auto* nl = static_cast<const char*>(std::memchr(data.data() + i, '\n', data.size() - i));
    const std::size_t end = nl ? static_cast<std::size_t>(nl - data.data()) + 1 : data.size();
    if (head_.size() + (end - i) > limits_.max_head_bytes) {
      fail(431, "the request line and header fields are larger than " +
                    std::to_string(limits_.max_head_bytes) + " bytes");
      return end;
    }
    head_.append(data.data() + i, end - i);
    i = end;
    if (!nl) break;
    // A line ended: the head is complete when that line is empty.
    const std::size_t line_end = head_.size() - 1;  // the '\n'
    const std::size_t line_start = head_scanned_;
    head_scanned_ = head_.size();
    const std::size_t length = line_end - line_start;
    if (length == 0 || (length == 1 && head_[line_start] == '\r')) {
      if (parse_head() && frame_body()) {
        if (body_mode_ == BodyMode::None || (body_mode_ == BodyMode::Length && remaining_ == 0))
          finish();
        else
          state_ = State::Body;
      }
      head_.clear();
      head_.shrink_to_fit();
      return i;
    }
  }
  return i;
}

bool HttpRequestParser::parse_head() {
  std::vector<std::string_view> lines;
  std::string_view rest(head_);
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return fail(400, "a bare CR in the request head");
    lines.push_back(line);
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return fail(400, "no request line");

  // request-line = method SP request-target SP HTTP-version
  const std::string_view line = lines.front();
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "malformed request line");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "malformed request method");
  if (target.empty() || !valid_field_value(target) || target.find('\t') != std::string_view::npos)
    return fail(400, "malformed request target");
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return fail(400, "malformed HTTP version");
  if (version[5] != '1')
    return fail(505, "HTTP version " + std::string(version.substr(5)) + " is not supported");
  request_.minor_version = version[7] - '0';
  request_.method = std::string(method);
  request_.target = std::string(target);
  // origin-form; absolute-form ("http://host/path") is accepted as a proxy would send it.
  std::string_view path = target;
  if (!path.starts_with('/')) {
    const auto scheme = path.find("://");
    if (scheme == std::string_view::npos) {
      if (path != "*") return fail(400, "the request target must be a path");
    } else {
      const auto slash = path.find('/', scheme + 3);
      path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
  }
  const auto q = path.find('?');
  request_.path = std::string(path.substr(0, q));
  if (q != std::string_view::npos) request_.query = std::string(path.substr(q + 1));

  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view field = lines[i];
    if (field.front() == ' ' || field.front() == '\t')
      return fail(400, "obsolete line folding in a header field");
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) return fail(400, "a header field without ':'");
    const std::string_view name = field.substr(0, colon);
    if (!is_token(name))
      return fail(400, "malformed header field name \"" + std::string(name.substr(0, 64)) + "\"");
    const std::string_view value = trim(field.substr(colon + 1));
    if (!valid_field_value(value))
      return fail(400, "a control character in header field " + std::string(name));
    if (request_.headers.size() >= limits_.max_header_fields)
      return fail(431, "more than " + std::to_string(limits_.max_header_fields) + " header fields");
    request_.headers.emplace_back(lower(name), std::string(value));
  }
  return true;
}

bool HttpRequestParser::frame_body() {
  std::vector<std::string_view> codings;
  std::vector<std::string_view> lengths;
  bool has_te = false;
  bool close = false;
  bool keep_alive = false;
  for (const auto& [name, value] : request_.headers) {
    if (name == "transfer-encoding") {
      has_te = true;
      for (auto c : list_elements(value)) codings.push_back(c);
    } else if (name == "content-length") {
      const auto parts = list_elements(value);
      if (parts.empty()) return fail(400, "an empty Content-Length");
      for (auto p : parts) lengths.push_back(p);
    } else if (name == "connection") {
      for (auto token : list_elements(value)) {
        if (iequals(token, "close")) close = true;
        if (iequals(token, "keep-alive")) keep_alive = true;
      }
    } else if (name == "expect" && request_.minor_version >= 1) {
      if (!iequals(value, "100-continue")) return fail(417, "only Expect: 100-continue is supported");
      request_.expects_continue = true;
    }
  }
  request_.keep_alive = !close && (request_.minor_version >= 1 || keep_alive);

  if (has_te) {
    // RFC 9112 6.1 and 6.3: a message with both is a request smuggling attempt;
    // HTTP/1.0 has no chunked coding.
    if (!lengths.empty()) return fail(400, "both Transfer-Encoding and Content-Length");
    if (request_.minor_version == 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (codings.empty() || !iequals(codings.back(), "chunked"))
      return fail(400,
                  "the request body's length cannot be determined (Transfer-Encoding without chunked last)");
    if (codings.size() > 1) return fail(501, "only the chunked transfer coding is supported");
    body_mode_ = BodyMode::Chunked;
    return true;
  }
  if (!lengths.empty()) {
    for (auto l : lengths) {
      if (l != lengths.front()) return fail(400, "conflicting Content-Length values");
    }
    const std::string_view digits = lengths.front();
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail(400, "malformed Content-Length");
    std::uint64_t length = 0;
    for (const char c : digits) {
      if (length > (limits_.max_body_bytes + 9) / 10) {
        length = UINT64_MAX;
        break;
      }
      length = length * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (length > limits_.max_body_bytes)
      return fail(413, "the request body is larger than the limit of " +
                           std::to_string(limits_.max_body_bytes) + " bytes");
    body_mode_ = BodyMode::Length;
    remaining_ = length;
    request_.body.reserve(static_cast<std::size_t>(length));
  }
  return true;
}

std::size_t HttpRequestParser::feed_body(std::string_view data) {
  if (body_mode_ == BodyMode::Chunked) return feed_chunked(data);
  const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
  request_.body.append(data.data(), take);
  remaining_ -= take;
  if (remaining_ == 0) finish();
  return take;
}

std::size_t HttpRequestParser::feed_chunked(std::string_view data) {
  std::size_t i = 0;
  // Reads up to and including the next '\n' into line_; true when the line is whole.
  const auto read_line = [&](std::size_t limit) -> int {
    const auto* nl = static_cast<const char*>(std::memchr(data.data() + i, '\n', data.size() - i));
    const std::size_t end = nl ? static_cast<std::size_t>(nl - data.data()) : data.size();
    if (line_.size() + (end - i) > limit) return -1;
    line_.append(data.data() + i, end - i);
    i = nl ? end + 1 : end;
    if (!nl) return 0;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    return 1;
  };
  while (i < data.size() && state_ == State::Body) {
    switch (chunk_state_) {
      case ChunkState::Size: {
        const int whole = read_line(kMaxChunkLine);
        if (whole < 0) {
          fail(400, "a chunk-size line longer than " + std::to_string(kMaxChunkLine) + " bytes");
          return i;
        }
        if (whole == 0) return i;
        std::uint64_t size = 0;
        std::size_t digits = 0;
        for (const char c : line_) {
          int v;
          if (c >= '0' && c <= '9')
            v = c - '0';
          else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            v = (c | 0x20) - 'a' + 10;
          else
            break;
          if (++digits > 15) {  // past 2^60: larger than any limit
            fail(413, "the request body is larger than the limit of " +
                          std::to_string(limits_.max_body_bytes) + " bytes");
            return i;
          }
          size = size * 16 + static_cast<std::uint64_t>(v);
        }
        const std::string_view after = trim(std::string_view(line_).substr(digits));
        if (digits == 0 || (!after.empty() && after.front() != ';') || !valid_field_value(line_)) {
          fail(400, "malformed chunk size");
          return i;
        }
        line_.clear();
        // The limit holds as soon as a chunk announces that it would cross it.
        if (size > limits_.max_body_bytes - std::min(limits_.max_body_bytes, request_.body.size())) {
          fail(413, "the request body is larger than the limit of " + std::to_string(limits_.max_body_bytes) +
                        " bytes");
          return i;
        }
        if (size == 0) {
          chunk_state_ = ChunkState::Trailer;
        } else {
          remaining_ = size;
          chunk_state_ = ChunkState::Data;
        }
        break;
      }
      case ChunkState::Data: {
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size() - i));
        request_.body.append(data.data() + i, take);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) chunk_state_ = ChunkState::DataEnd;
        break;
      }
      case ChunkState::DataEnd: {
        // CRLF (or a bare LF) after the data, nothing else.
        const char c = data[i++];
        if (c == '\r' && line_.empty()) {
          line_.push_back('\r');  // (not = "\r": GCC 12 -O3 warns falsely, bug 105329)
        } else if (c == '\n') {
          line_.clear();
          chunk_state_ = ChunkState::Size;
        } else {
          fail(400, "chunk data not followed by CRLF");
          return i;
        }
        break;
      }
      case ChunkState::Trailer: {
        const std::size_t before = i;
        const int whole = read_line(limits_.max_head_bytes);
        trailer_bytes_ += i - before;
        if (whole < 0 || trailer_bytes_ > limits_.max_head_bytes) {
          fail(431,
               "chunked trailer fields larger than " + std::to_string(limits_.max_head_bytes) + " bytes");
          return i;
        }
        if (whole == 0) return i;
        // Trailer fields are read and dropped: nothing here is framed by them.
        const bool last = line_.empty();
        line_.clear();
        if (last) finish();
        break;
      }
    }
  }
  return i;
}

}  // namespace cdcguard::server

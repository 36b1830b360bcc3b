#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// HTTP/1.1 requests read incrementally from a byte stream (RFC 9112): no I/O,
// so every limit and every framing rule is tested without a socket. The
// server feeds it whatever arrived; it consumes exactly one request and leaves
// the bytes after it (a pipelined request) to the caller.
namespace cdcguard::server {

struct HttpLimits {
  // Request line plus header fields (and chunked trailers), in bytes.
  std::size_t max_head_bytes = 64 * 1024;
  std::size_t max_header_fields = 100;
  // The decoded body, whatever its framing (Content-Length or chunked).
  std::size_t max_body_bytes = 4 * 1024 * 1024;
};

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // the target without its query
  std::string query;   // after '?', without it
  int minor_version = 1;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  bool keep_alive = true;         // HTTP/1.1 unless `Connection: close`; 1.0 only with keep-alive
  bool expects_continue = false;  // `Expect: 100-continue`
  std::string remote_addr;        // set by the server

  // The first value of a header (name in any case), or "" when absent.
  std::string_view header(std::string_view name) const;
};

class HttpRequestParser {
 public:
  enum class State {
    Head,      // reading the request line and header fields
    Body,      // headers read; reading the body
    Complete,  // one whole request: request() holds it
    Failed,    // error_status() and error_message() say why; the connection must close
  };

  explicit HttpRequestParser(HttpLimits limits = {});

  // Consumes bytes of `data` until one request is complete or an error is
  // found; returns how many were consumed (the rest belongs to the next
  // request, or is to be discarded after a failure).
  std::size_t feed(std::string_view data);

  State state() const { return state_; }
  // A byte of this request has arrived (blank lines before it do not count).
  bool started() const { return started_; }
  // The request line and headers are in: request() has them, not yet the body.
  bool head_complete() const { return state_ == State::Body || state_ == State::Complete; }
  const HttpRequest& request() const { return request_; }
  HttpRequest take_request() { return std::move(request_); }
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

  // Ready for the next request on the same connection.
  void reset();

 private:
  enum class BodyMode { None, Length, Chunked };
  enum class ChunkState { Size, Data, DataEnd, Trailer };

  std::size_t feed_head(std::string_view data);
  std::size_t feed_body(std::string_view data);
  std::size_t feed_chunked(std::string_view data);
  bool parse_head();
  bool frame_body();
  bool fail(int status, std::string message);
  bool finish();

  HttpLimits limits_;
  State state_ = State::Head;
  bool started_ = false;
  std::string head_;
  std::size_t head_scanned_ = 0;
  HttpRequest request_;
  int error_status_ = 0;
  std::string error_message_;
  BodyMode body_mode_ = BodyMode::None;
  std::uint64_t remaining_ = 0;  // of the Content-Length, or of the current chunk
  ChunkState chunk_state_ = ChunkState::Size;
  std::string line_;  // a chunk-size or trailer line being read
  std::size_t trailer_bytes_ = 0;
};

}  // namespace cdcguard::server

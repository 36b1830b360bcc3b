#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

// A bare HTTPS/1.1 client on OpenSSL for the server tests: one connection,
// requests written byte for byte (so a test can stall halfway, pin the TLS
// version or reuse the connection), responses read by Content-Length.
namespace cdcguard::testing_support {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

inline int tcp_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

inline void set_receive_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// GET over plain HTTP on 127.0.0.1 (the metrics port), Connection: close.
inline HttpReply plain_http_get(int port, const std::string& path) {
  const int fd = tcp_connect(port);
  set_receive_timeout(fd, std::chrono::milliseconds(30000));
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string raw;
  char buf[16384];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  HttpReply reply;
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return reply;
  reply.status = std::atoi(raw.substr(raw.find(' ') + 1, 3).c_str());
  reply.body = raw.substr(head_end + 4);
  return reply;
}

class TlsConnection {
 public:
  struct Options {
    std::string ca_pem;  // trust anchor; the server's name (127.0.0.1) is verified against it
    int min_version = 0;
    int max_version = 0;
    bool legacy = false;  // security level 0, so OpenSSL 3 offers TLS 1.0/1.1 at all
    // How long a read may wait: a hang guard for a loaded machine, never a speed claim.
    std::chrono::milliseconds timeout{30000};
  };

  TlsConnection(int port, const Options& options) : fd_(tcp_connect(port)), timeout_(options.timeout) {
    set_receive_timeout(fd_, options.timeout);
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (options.legacy) {
      SSL_CTX_set_security_level(ctx_, 0);
      SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0");
    }
    if (options.min_version) SSL_CTX_set_min_proto_version(ctx_, options.min_version);
    if (options.max_version) SSL_CTX_set_max_proto_version(ctx_, options.max_version);
    if (!options.ca_pem.empty()) {
      BIO* bio = BIO_new_mem_buf(options.ca_pem.data(), static_cast<int>(options.ca_pem.size()));
      X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
      BIO_free(bio);
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
      X509_free(ca);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (!options.ca_pem.empty()) SSL_set1_host(ssl_, "127.0.0.1");
    if (SSL_connect(ssl_) != 1) {
      char buf[256] = "handshake failed";
      if (const unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
      ERR_clear_error();
      const std::string message = std::string("TLS handshake failed: ") + buf;
      cleanup();
      throw std::runtime_error(message);
    }
  }
  ~TlsConnection() { cleanup(); }
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  std::string version() const { return SSL_get_version(ssl_); }
  // Closes the connection with a reset (SO_LINGER 0), as a crashing client would.
  void reset() {
    const linger hard{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    SSL_free(ssl_);
    ssl_ = nullptr;
    ::close(fd_);
    fd_ = -1;
  }
  std::string peer_subject() const {
    X509* peer = SSL_get1_peer_certificate(ssl_);
    if (!peer) return {};
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
    X509_free(peer);
    return buf;
  }

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) throw std::runtime_error("TLS write failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // One response; status 0 when the server closed the connection (or the
  // receive timeout passed) before a whole response arrived.
  HttpReply read_reply() {
    HttpReply reply;
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return reply;
    }
    const std::string head = buffer_.substr(0, header_end);
    buffer_.erase(0, header_end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    reply.status = std::atoi(status_line.substr(status_line.find(' ') + 1).c_str());
    while (line_end != std::string::npos) {
      const std::size_t next = head.find("\r\n", line_end + 2);
      const std::string line =
          head.substr(line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
      if (const auto colon = line.find(':'); colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        reply.headers[name] = value;
      }
      line_end = next;
    }
    const std::size_t length =
        reply.headers.count("content-length") ? std::stoul(reply.headers["content-length"]) : 0;
    while (buffer_.size() < length) {
      if (!fill()) {
        reply.status = 0;
        return reply;
      }
    }
    reply.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return reply;
  }

  // Bytes of a response (or the server's close) are there to read within
  // `timeout`. TLS 1.3 session tickets the server sends after the handshake
  // make the socket readable too: they are consumed here and do not count.
  bool wait_readable(std::chrono::milliseconds timeout) {
    if (!buffer_.empty() || SSL_pending(ssl_) > 0) return true;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    set_receive_timeout(fd_, std::chrono::milliseconds(1));
    char buf[16384];
    const int n = SSL_read(ssl_, buf, sizeof buf);
    const int err = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, n);
    const int saved_errno = errno;
    ERR_clear_error();
    set_receive_timeout(fd_, timeout_);
    if (n > 0) {
      buffer_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (err == SSL_ERROR_ZERO_RETURN) return true;  // closed: a read says so
    if (err == SSL_ERROR_SYSCALL && saved_errno != EAGAIN && saved_errno != EWOULDBLOCK) return true;
    if (err == SSL_ERROR_SSL) return true;
    return false;
  }
  // The server has closed the connection: a read gives end of stream (or a reset).
  bool closed_by_peer() {
    char c;
    const int n = SSL_read(ssl_, &c, 1);
    if (n > 0) buffer_.push_back(c);
    return n <= 0;
  }
  // Like send(), but says whether every byte was written (false once the
  // server has closed or reset the connection).
  bool try_send(std::string_view bytes) {
    while (!bytes.empty()) {
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) {
        ERR_clear_error();
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  HttpReply request(const std::string& method, const std::string& path, const std::string& body = {},
                    const std::string& content_type = "application/json") {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    send(req);
    return read_reply();
  }

 private:
  bool fill() {
    char buf[16384];
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  void cleanup() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (ctx_) {
      SSL_CTX_free(ctx_);
      ctx_ = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

}  // namespace cdcguard::testing_support

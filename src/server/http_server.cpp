#include "cdcguard/server/http_server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace cdcguard::server {
namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

constexpr std::uint32_t kIn = EPOLLIN;
constexpr std::uint32_t kOut = EPOLLOUT;
constexpr std::uint64_t kListenerTag = 0;
constexpr std::uint64_t kWakeTag = 1;
constexpr std::size_t kReadChunk = 64 * 1024;
// Per readiness event a connection reads at most this much, so one fast
// uploader cannot hold the loop while others wait.
constexpr std::size_t kReadBudget = 256 * 1024;
constexpr std::size_t kLingerMaxBytes = 256 * 1024;

std::string errno_text(int e) {
  char buf[256];
  return std::string(strerror_r(e, buf, sizeof buf));
}

std::string peer_address(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, text, sizeof text);
  }
  return text;
}

enum class Io { Ok, WantRead, WantWrite, Eof, Error };

}  // namespace

std::string_view http_reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status < 400 ? "OK" : (status < 500 ? "Bad Request" : "Internal Server Error");
  }
}

struct HttpServer::Impl {
  enum class Phase : std::uint8_t {
    Handshake,  // TLS handshake in progress
    Idle,       // waiting for the first byte of a request
    Receiving,  // a request has started to arrive
    Handling,   // its handler runs
    Writing,    // the response is being sent
    Lingering,  // write side closed; reading and dropping until the peer closes
    Closed,
  };

  static constexpr std::int64_t kNoDeadline = INT64_MAX;

  // A connection is armed in epoll with EPOLLONESHOT: an event goes to one
  // thread, which claims it (`busy`), does everything that can be done now
  // (read, run the handler, write) and arms it again before letting go. The
  // reaper and the accept path claim a connection the same way to time it out
  // or evict it, so exactly one thread touches its state at a time.
  struct Conn {
    Conn(std::uint64_t i, HttpLimits limits) : id(i), parser(limits) {}
    const std::uint64_t id;
    int fd = -1;
    SSL* ssl = nullptr;
    std::string remote;
    std::atomic<bool> busy{false};
    // An event came while another thread held it (see serve_events).
    std::atomic<bool> missed{false};
    // Read without the claim by the reaper and the eviction scan.
    std::atomic<Phase> phase{Phase::Idle};
    std::atomic<std::int64_t> deadline_ns{kNoDeadline};
    std::atomic<std::int64_t> since_ns{0};  // when the current phase began (eviction order)
    // Only under the claim.
    HttpRequestParser parser;
    std::string in;  // read, not yet parsed (a pipelined request)
    std::size_t in_pos = 0;
    std::string out;
    std::size_t out_pos = 0;
    bool close_after_write = false;
    bool continue_sent = false;
    bool keep_alive = true;
    int minor_version = 1;
    std::uint32_t want = kIn;  // what to wait for when the turn ends
    std::size_t lingered = 0;  // bytes dropped after the last response
  };
  using ConnPtr = std::shared_ptr<Conn>;

  struct Route {
    std::string method;
    Handler handler;
  };

  explicit Impl(Options o) : options(std::move(o)) {}

  static std::int64_t ns(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }

  // ---- set-up -------------------------------------------------------------

  int bind_listener() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const std::string port_text = std::to_string(options.port);
    const int rc = ::getaddrinfo(options.address.empty() ? nullptr : options.address.c_str(),
                                 port_text.c_str(), &hints, &found);
    if (rc != 0) {
      throw HttpServerError("cannot listen on " + options.address + ":" + port_text + ": " +
                            gai_strerror(rc));
    }
    std::string error = "no address";
    for (addrinfo* a = found; a; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) {
        error = errno_text(errno);
        continue;
      }
      // Reuse the address (a restart past TIME_WAIT), never the port: a second
      // instance must fail to bind rather than silently take half the connections.
      const int yes = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
        ::freeaddrinfo(found);
        sockaddr_storage bound{};
        socklen_t len = sizeof bound;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
        bound_port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                                       : reinterpret_cast<sockaddr_in&>(bound).sin_port);
        listen_fd = fd;
        return bound_port;
      }
      error = errno_text(errno);
      ::close(fd);
    }
    ::freeaddrinfo(found);
    throw HttpServerError("cannot listen on " + options.address + ":" + port_text + ": " + error);
  }

  void start_threads() {
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd < 0 || wake_fd < 0)
      throw HttpServerError("cannot create an epoll instance: " + errno_text(errno));
    epoll_event ev{};
    ev.events = kIn | EPOLLONESHOT;
    ev.data.u64 = kListenerTag;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
    // Level-triggered and never read: once written, every thread sees it and ends.
    ev.events = kIn;
    ev.data.u64 = kWakeTag;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
    const std::size_t count = std::max<std::size_t>(options.workers, 1);
    for (std::size_t i = 0; i < count; ++i) {
      threads.emplace_back([this] {
        pthread_setname_np(pthread_self(), (options.name.substr(0, 10) + "-http").c_str());
        serve_events();
      });
    }
    reaper = std::thread([this] {
      pthread_setname_np(pthread_self(), (options.name.substr(0, 10) + "-reap").c_str());
      reap();
    });
  }

  // ---- the event threads --------------------------------------------------

  void serve_events() {
    epoll_event ev{};
    while (true) {
      const int n = ::epoll_wait(epoll_fd, &ev, 1, -1);
      if (n <= 0) continue;  // EINTR
      const std::uint64_t tag = ev.data.u64;
      if (tag == kWakeTag) return;
      if (tag == kListenerTag) {
        accept_all();
        continue;
      }
      const ConnPtr conn = find(tag);
      if (!conn) continue;  // closed meanwhile
      if (!claim(*conn)) {
        // Another thread holds it (the reaper, or an owner between arming
        // it and letting go). This event is out of epoll now: leave word, and
        // the holder arms it again when it lets go (the kernel then reports
        // what is still there). It may have let go already: try once more.
        conn->missed.store(true);
        if (!claim(*conn)) continue;
        conn->missed.store(false);
      }
      if (conn->phase.load() != Phase::Closed) on_ready(*conn, ev.events);
      end_turn(*conn);
    }
  }

  static bool claim(Conn& c) {
    bool expected = false;
    return c.busy.compare_exchange_strong(expected, true);
  }

  // Arms the connection for what it waits for, then lets go of it.
  void end_turn(Conn& c) {
    arm(c);
    release(c);
  }
  void arm(Conn& c) {
    if (c.phase.load() == Phase::Closed) return;
    epoll_event ev{};
    ev.events = c.want | EPOLLONESHOT;
    ev.data.u64 = c.id;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
  }
  // Lets go; an event that another thread took out of epoll meanwhile is
  // reported again by arming once more (level-triggered: what is still there).
  void release(Conn& c) {
    c.busy.store(false);
    while (c.missed.load()) {
      if (!claim(c)) return;  // its holder looks again when it lets go
      c.missed.store(false);
      arm(c);
      c.busy.store(false);
    }
  }

  ConnPtr find(std::uint64_t id) {
    std::lock_guard guard(conns_mutex);
    auto it = conns.find(id);
    return it == conns.end() ? nullptr : it->second;
  }

  std::vector<ConnPtr> all_connections() {
    std::lock_guard guard(conns_mutex);
    std::vector<ConnPtr> out;
    out.reserve(conns.size());
    for (const auto& [id, c] : conns) out.push_back(c);
    return out;
  }

  void accept_all() {
    std::lock_guard guard(listener_mutex);
    while (listen_fd >= 0) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      const int fd =
          ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: make room if anything can go, else stop
          // accepting for a moment (the backlog would wake a thread forever).
          if (!evict_one()) {
            listener_paused_until_ns.store(ns(SteadyClock::now() + std::chrono::milliseconds(100)));
            return;
          }
          continue;
        }
        break;  // EAGAIN: all taken
      }
      if (open_count.load() >= options.max_connections && !evict_one()) {
        ::close(fd);
        count_close(CloseReason::Refused);
        continue;
      }
      add_connection(fd, addr);
    }
    arm_listener();
  }

  void arm_listener() {
    if (listen_fd < 0) return;
    epoll_event ev{};
    ev.events = kIn | EPOLLONESHOT;
    ev.data.u64 = kListenerTag;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listen_fd, &ev);
  }

  void add_connection(int fd, const sockaddr_storage& addr) {
    const int one = 1;
    // Without TCP_NODELAY a kept-alive response waits ~40 ms for the peer's delayed ACK.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_shared<Conn>(next_id.fetch_add(1), options.limits);
    c->fd = fd;
    c->remote = peer_address(addr);
    const TimePoint now = SteadyClock::now();
    c->since_ns = ns(now);
    if (options.tls) {
      c->ssl = SSL_new(options.tls);
      if (!c->ssl) {
        ::close(fd);
        count_close(CloseReason::HandshakeFailed);
        return;
      }
      SSL_set_fd(c->ssl, fd);
      SSL_set_accept_state(c->ssl);
      // Partial writes: a slow reader never holds a thread; idle connections
      // give their read and write buffers back.
      SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
      c->phase = Phase::Handshake;
      set_deadline(*c, now + options.request_timeout);
    } else {
      c->phase = Phase::Idle;
      set_deadline(*c, now + options.idle_timeout);
    }
    {
      std::lock_guard guard(conns_mutex);
      conns.emplace(c->id, c);
      open_count.store(conns.size());
    }
    accepted.fetch_add(1, std::memory_order_relaxed);
    epoll_event ev{};
    ev.events = kIn | EPOLLONESHOT;
    ev.data.u64 = c->id;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }

  // Closes the connection that does least, for a new one: see the header.
  bool evict_one() {
    std::vector<std::pair<int, ConnPtr>> ranked;
    for (auto& c : all_connections()) {
      int rank = 0;
      switch (c->phase.load()) {
        case Phase::Lingering:
          rank = 4;
          break;
        case Phase::Idle:
          rank = 3;
          break;
        case Phase::Handshake:
          rank = 2;
          break;
        case Phase::Receiving:
          rank = 1;
          break;
        case Phase::Handling:
        case Phase::Writing:
        case Phase::Closed:
          break;
      }
      if (rank > 0) ranked.emplace_back(rank, std::move(c));
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second->since_ns.load() < b.second->since_ns.load();
    });
    for (auto& [rank, c] : ranked) {
      if (!claim(*c)) continue;  // somebody is serving it: not idle after all
      const Phase now = c->phase.load();
      const bool still =
          now == Phase::Lingering || now == Phase::Idle || now == Phase::Handshake || now == Phase::Receiving;
      if (still)
        close_conn(*c, now == Phase::Lingering ? std::optional<CloseReason>() : CloseReason::Evicted);
      release(*c);
      if (still) return true;
    }
    return false;
  }

  void on_ready(Conn& c, std::uint32_t what) {
    // An error or a hang-up in both directions (a reset): nobody to answer.
    if (what & (EPOLLERR | EPOLLHUP)) {
      close_conn(c, std::nullopt);
      return;
    }
    switch (c.phase.load()) {
      case Phase::Handshake:
        handshake(c);
        break;
      case Phase::Idle:
      case Phase::Receiving:
        if (c.out_pos < c.out.size() && !flush(c)) return;  // a 100 Continue still going out
        serve_requests(c);
        break;
      case Phase::Writing:
        write_response(c);
        if (c.phase.load() == Phase::Idle) serve_requests(c);  // a pipelined request waits
        break;
      case Phase::Lingering:
        linger(c);
        break;
      case Phase::Handling:
      case Phase::Closed:
        break;
    }
  }

  // ---- I/O ----------------------------------------------------------------

  Io io_result(Conn& c, int rc) {
    const int err = SSL_get_error(c.ssl, rc);
    switch (err) {
      case SSL_ERROR_WANT_READ:
        return Io::WantRead;
      case SSL_ERROR_WANT_WRITE:
        return Io::WantWrite;
      case SSL_ERROR_ZERO_RETURN:
        return Io::Eof;
      case SSL_ERROR_SYSCALL:
        return errno == EAGAIN ? Io::WantRead : Io::Eof;
      default:
        return Io::Error;
    }
  }

  Io read_some(Conn& c, char* buf, std::size_t cap, std::size_t& n) {
    if (c.ssl) {
      ERR_clear_error();
      const int rc = SSL_read(c.ssl, buf, static_cast<int>(cap));
      if (rc > 0) {
        n = static_cast<std::size_t>(rc);
        return Io::Ok;
      }
      return io_result(c, rc);
    }
    const ssize_t rc = ::recv(c.fd, buf, cap, 0);
    if (rc > 0) {
      n = static_cast<std::size_t>(rc);
      return Io::Ok;
    }
    if (rc == 0) return Io::Eof;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Io::WantRead;
    return Io::Error;
  }

  Io write_some(Conn& c, const char* data, std::size_t len, std::size_t& n) {
    if (c.ssl) {
      ERR_clear_error();
      const int rc = SSL_write(c.ssl, data, static_cast<int>(std::min<std::size_t>(len, 1 << 20)));
      if (rc > 0) {
        n = static_cast<std::size_t>(rc);
        return Io::Ok;
      }
      return io_result(c, rc);
    }
    const ssize_t rc = ::send(c.fd, data, len, MSG_NOSIGNAL);
    if (rc >= 0) {
      n = static_cast<std::size_t>(rc);
      return Io::Ok;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Io::WantWrite;
    return Io::Error;
  }

  void handshake(Conn& c) {
    ERR_clear_error();
    const int rc = SSL_do_handshake(c.ssl);
    if (rc == 1) {
      const TimePoint now = SteadyClock::now();
      c.phase = Phase::Idle;
      c.since_ns = ns(now);
      set_deadline(c, now + options.idle_timeout);
      serve_requests(c);  // the first request may have come with the last handshake flight
      return;
    }
    switch (io_result(c, rc)) {
      case Io::WantRead:
        c.want = kIn;
        break;
      case Io::WantWrite:
        c.want = kOut;
        break;
      default:
        close_conn(c, CloseReason::HandshakeFailed);
        break;
    }
  }

  // Parses what was read and reads more, answering every whole request in
  // order (a handler runs on this thread), until the socket has nothing more,
  // a response waits for the socket, or this turn's read budget is spent.
  void serve_requests(Conn& c) {
    static thread_local char buf[kReadChunk];
    std::size_t budget = kReadBudget;
    while (true) {
      if (!process_input(c)) return;
      const Phase phase = c.phase.load();
      if (phase != Phase::Idle && phase != Phase::Receiving) return;
      std::size_t n = 0;
      switch (read_some(c, buf, sizeof buf, n)) {
        case Io::Ok:
          c.in.append(buf, n);
          if (n >= budget) {
            process_input(c);
            // Level-triggered: the rest wakes a thread again, after the others had a turn.
            if (c.phase.load() == Phase::Idle || c.phase.load() == Phase::Receiving) c.want = kIn;
            return;
          }
          budget -= n;
          continue;
        case Io::WantRead:
          c.want = kIn | (c.out_pos < c.out.size() ? kOut : 0u);
          return;
        case Io::WantWrite:
          c.want = kIn | kOut;
          return;
        case Io::Eof:
        case Io::Error:
          // Gone before (or in the middle of) a request: nothing to answer.
          close_conn(c, std::nullopt);
          return;
      }
    }
  }

  // Feeds buffered bytes to the parser and answers each request they hold;
  // false when the connection can take no more now (closed, or a response is
  // waiting for the socket).
  bool process_input(Conn& c) {
    while (c.in_pos < c.in.size()) {
      const Phase phase = c.phase.load();
      if (phase != Phase::Idle && phase != Phase::Receiving) return false;
      const bool was_started = c.parser.started();
      c.in_pos += c.parser.feed(std::string_view(c.in).substr(c.in_pos));
      if (!was_started && c.parser.started()) {
        // The deadline is for the whole request, not per byte: one byte a
        // second cannot hold a connection for longer than request_timeout.
        const TimePoint now = SteadyClock::now();
        c.phase = Phase::Receiving;
        c.since_ns = ns(now);
        set_deadline(c, now + options.request_timeout);
      }
      if (c.parser.state() == HttpRequestParser::State::Body && c.parser.request().expects_continue &&
          !c.continue_sent) {
        c.continue_sent = true;
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
        if (!flush(c)) return false;
      }
      if (c.parser.state() == HttpRequestParser::State::Complete) {
        compact_input(c);
        handle(c);
      } else if (c.parser.state() == HttpRequestParser::State::Failed) {
        c.in.clear();
        c.in_pos = 0;
        fail_request(c, c.parser.error_status(), c.parser.error_message());
      }
    }
    compact_input(c);
    const Phase phase = c.phase.load();
    return phase == Phase::Idle || phase == Phase::Receiving;
  }

  static void compact_input(Conn& c) {
    if (c.in_pos == c.in.size()) {
      c.in.clear();
      c.in_pos = 0;
    } else if (c.in_pos > 0) {
      c.in.erase(0, c.in_pos);
      c.in_pos = 0;
    }
  }

  // Writes what is queued in `out`; false when the connection was closed.
  bool flush(Conn& c) {
    while (c.out_pos < c.out.size()) {
      std::size_t n = 0;
      switch (write_some(c, c.out.data() + c.out_pos, c.out.size() - c.out_pos, n)) {
        case Io::Ok:
          c.out_pos += n;
          continue;
        case Io::WantWrite:
          c.want = (c.phase.load() == Phase::Writing ? 0u : kIn) | kOut;
          return true;
        case Io::WantRead:
          c.want = kIn;
          return true;
        case Io::Eof:
        case Io::Error:
          close_conn(c, std::nullopt);
          return false;
      }
    }
    c.out.clear();
    c.out_pos = 0;
    return true;
  }

  // Runs the handler of a whole request here and starts its response.
  void handle(Conn& c) {
    HttpRequest request = c.parser.take_request();
    request.remote_addr = c.remote;
    c.keep_alive = request.keep_alive;
    c.minor_version = request.minor_version;
    c.phase = Phase::Handling;
    clear_deadline(c);

    HttpResponse res;
    const Route* route = nullptr;
    std::string allow;
    if (auto it = routes.find(request.path); it != routes.end()) {
      for (const Route& r : it->second) {
        if (r.method == request.method) route = &r;
        allow += (allow.empty() ? "" : ", ") + r.method;
      }
      if (!route) {
        res.status = 405;
        res.headers.emplace_back("Allow", allow);
        finish_error(&request, res, request.method + " " + request.path + ": use " + allow);
      }
    } else {
      res.status = 404;
      finish_error(&request, res, "no route for " + request.method + " " + request.path);
    }
    if (route) res = run_handler(*route, request);
    respond(c, std::move(res));
  }

  HttpResponse run_handler(const Route& route, const HttpRequest& request) {
    HttpResponse res;
    std::string why;
    try {
      route.handler(request, res);
    } catch (const std::exception& e) {
      res = HttpResponse{};
      res.status = 500;
      why = std::string("internal error: ") + e.what();
    } catch (...) {
      res = HttpResponse{};
      res.status = 500;
      why = "internal error";
    }
    if (res.status >= 400) finish_error(&request, res, why);
    return res;
  }

  void finish_error(const HttpRequest* request, HttpResponse& res, const std::string& why) {
    if (options.on_error) {
      options.on_error(request, res, why);
    } else if (res.body.empty()) {
      res.content_type = "text/plain";
      res.body = (why.empty() ? std::string(http_reason_phrase(res.status)) : why) + "\n";
    }
  }

  // A request that could not be read whole: answered, then the connection closes.
  void fail_request(Conn& c, int status, const std::string& why) {
    HttpResponse res;
    res.status = status;
    res.close = true;
    const bool head = c.parser.head_complete();
    finish_error(head ? &c.parser.request() : nullptr, res, why);
    c.keep_alive = false;
    c.minor_version = head ? c.parser.request().minor_version : 1;
    c.phase = Phase::Handling;
    respond(c, std::move(res));
  }

  void respond(Conn& c, HttpResponse res) {
    const bool close = res.close || !c.keep_alive || closing.load(std::memory_order_relaxed) ||
                       draining.load(std::memory_order_relaxed);
    std::string& out = c.out;
    out.reserve(out.size() + 160 + res.body.size());
    out += "HTTP/1.1 ";
    out += std::to_string(res.status);
    out += ' ';
    out += http_reason_phrase(res.status);
    out += "\r\n";
    if (!res.content_type.empty()) {
      out += "Content-Type: ";
      out += res.content_type;
      out += "\r\n";
    }
    out += "Content-Length: ";
    out += std::to_string(res.body.size());
    out += "\r\n";
    for (const auto& [name, value] : res.headers) {
      out += name;
      out += ": ";
      out += value;
      out += "\r\n";
    }
    if (close) {
      out += "Connection: close\r\n";
    } else if (c.minor_version == 0) {
      out += "Connection: keep-alive\r\n";
    }
    out += "\r\n";
    out += res.body;
    c.close_after_write = close;
    const TimePoint now = SteadyClock::now();
    c.phase = Phase::Writing;
    c.since_ns = ns(now);
    set_deadline(c, now + options.write_timeout);
    write_response(c);
  }

  void write_response(Conn& c) {
    if (!flush(c)) return;
    if (c.out_pos < c.out.size()) return;  // the rest when writable (want is set)
    if (c.close_after_write) {
      start_linger(c);
      return;
    }
    // Ready for the next request on this connection.
    const TimePoint now = SteadyClock::now();
    c.parser.reset();
    c.continue_sent = false;
    c.phase = Phase::Idle;
    c.since_ns = ns(now);
    set_deadline(c, now + options.idle_timeout);
    c.want = kIn;
  }

  void start_linger(Conn& c) {
    const TimePoint now = SteadyClock::now();
    c.phase = Phase::Lingering;
    c.since_ns = ns(now);
    if (c.ssl) {
      ERR_clear_error();
      SSL_shutdown(c.ssl);  // close_notify, if it fits in the socket buffer now
    }
    ::shutdown(c.fd, SHUT_WR);
    set_deadline(c, now + options.linger);
    c.want = kIn;
    linger(c);
  }

  // Drops what the peer still sends until it closes, the linger time ends or
  // it has sent more than a pipelined request or two would be (a client still
  // uploading a refused body is cut off, not waited for).
  void linger(Conn& c) {
    static thread_local char buf[kReadChunk];
    while (c.lingered <= kLingerMaxBytes) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.lingered += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      break;
    }
    close_conn(c, std::nullopt);
  }

  // ---- deadlines: the reaper ----------------------------------------------

  static void set_deadline(Conn& c, TimePoint when) { c.deadline_ns.store(ns(when)); }
  static void clear_deadline(Conn& c) { c.deadline_ns.store(kNoDeadline); }

  // Times connections out (checked every 50 ms: a deadline is kept to within
  // that), resumes a paused listener, and ends the drain.
  void reap() {
    std::unique_lock lock(reaper_mutex);
    while (true) {
      reaper_cv.wait_for(lock, std::chrono::milliseconds(50));
      lock.unlock();
      const TimePoint now = SteadyClock::now();
      if (const auto paused = listener_paused_until_ns.load(); paused && ns(now) >= paused) {
        listener_paused_until_ns.store(0);
        std::lock_guard guard(listener_mutex);
        arm_listener();
      }
      for (const ConnPtr& c : all_connections()) {
        if (c->deadline_ns.load() > ns(now) || !claim(*c)) continue;
        if (c->deadline_ns.load() <= ns(now) && c->phase.load() != Phase::Closed) expire(*c);
        // An event that came meanwhile waits for this claim; arm for what the
        // connection waits for now (the expiry may have changed it).
        end_turn(*c);
      }
      lock.lock();
      if (draining.load()) {
        if (open_count.load() == 0) break;
        if (now >= drain_deadline) {
          // What is left is closed; a connection still held by its handler
          // is closed once the threads have ended.
          for (const ConnPtr& c : all_connections()) {
            if (!claim(*c)) continue;
            close_conn(*c, CloseReason::Shutdown);
            release(*c);
          }
          break;
        }
      }
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);  // every thread ends
  }

  void expire(Conn& c) {
    clear_deadline(c);
    switch (c.phase.load()) {
      case Phase::Handshake:
        close_conn(c, CloseReason::RequestTimeout);
        break;
      case Phase::Idle:
        close_conn(c, CloseReason::Idle);
        break;
      case Phase::Receiving:
        count_close(CloseReason::RequestTimeout);
        fail_request(c, 408,
                     "the request did not arrive whole within " +
                         std::to_string(options.request_timeout.count()) + " ms");
        break;
      case Phase::Writing:
        close_conn(c, CloseReason::RequestTimeout);
        break;
      case Phase::Lingering:
        close_conn(c, std::nullopt);
        break;
      case Phase::Handling:
      case Phase::Closed:
        break;
    }
  }

  // ---- closing ------------------------------------------------------------

  void count_close(CloseReason reason) {
    closed[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }

  // Under the claim. The object lives on while any thread still holds it.
  void close_conn(Conn& c, std::optional<CloseReason> reason) {
    if (c.phase.load() == Phase::Closed) return;
    if (reason) count_close(*reason);
    clear_deadline(c);
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
    if (c.ssl) SSL_free(c.ssl);
    c.ssl = nullptr;
    ::close(c.fd);
    c.fd = -1;
    c.phase = Phase::Closed;
    std::lock_guard guard(conns_mutex);
    conns.erase(c.id);
    open_count.store(conns.size());
  }

  void begin_drain(TimePoint deadline) {
    {
      std::lock_guard guard(reaper_mutex);
      drain_deadline = deadline;
      draining.store(true);
    }
    {
      std::lock_guard guard(listener_mutex);
      if (listen_fd >= 0) {
        ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
        ::close(listen_fd);
        listen_fd = -1;
      }
    }
    reaper_cv.notify_all();
    // Idle connections keep their idle deadline: a request the client sends on
    // one before then is answered (with Connection: close), not reset.
  }

  void join() {
    if (reaper.joinable()) reaper.join();
    for (auto& t : threads) t.join();
    threads.clear();
    // Connections a handler still held at the deadline.
    for (const ConnPtr& c : all_connections()) close_conn(*c, CloseReason::Shutdown);
    for (int* fd : {&listen_fd, &epoll_fd, &wake_fd}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

  Options options;
  std::unordered_map<std::string, std::vector<Route>> routes;  // fixed once started
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  int bound_port = -1;
  std::vector<std::thread> threads;
  std::thread reaper;

  std::mutex conns_mutex;
  std::unordered_map<std::uint64_t, ConnPtr> conns;
  std::atomic<std::uint64_t> next_id{2};
  std::mutex listener_mutex;
  std::atomic<std::int64_t> listener_paused_until_ns{0};

  std::mutex reaper_mutex;
  std::condition_variable reaper_cv;
  std::atomic<bool> draining{false};
  TimePoint drain_deadline{};  // under reaper_mutex

  std::atomic<bool> closing{false};
  std::atomic<std::uint64_t> open_count{0};
  std::atomic<std::uint64_t> accepted{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(CloseReason::kCount)> closed{};
  std::mutex lifecycle_mutex;
  bool started = false;
  bool stopped = false;
};

HttpServer::HttpServer(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() {
  stop(SteadyClock::now());
}

void HttpServer::route(const std::string& method, const std::string& path, Handler handler) {
  impl_->routes[path].push_back({method, std::move(handler)});
}

int HttpServer::bind() {
  return impl_->bind_listener();
}

void HttpServer::start() {
  std::lock_guard guard(impl_->lifecycle_mutex);
  if (impl_->started) return;
  if (impl_->listen_fd < 0) impl_->bind_listener();
  impl_->start_threads();
  impl_->started = true;
}

int HttpServer::port() const {
  return impl_->bound_port;
}

void HttpServer::begin_shutdown() {
  impl_->closing.store(true);
}

void HttpServer::stop(std::chrono::steady_clock::time_point deadline) {
  std::lock_guard guard(impl_->lifecycle_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (!impl_->started) {
    if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
    impl_->listen_fd = -1;
    return;
  }
  impl_->begin_drain(deadline);
  impl_->join();
}

HttpServerStats HttpServer::stats() const {
  HttpServerStats s;
  s.open_connections = impl_->open_count.load(std::memory_order_relaxed);
  s.accepted = impl_->accepted.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < s.closed.size(); ++i)
    s.closed[i] = impl_->closed[i].load(std::memory_order_relaxed);
  return s;
}

}  // namespace cdcguard::server

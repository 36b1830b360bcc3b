#include "cdcguard/http_server.hpp"

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

// A fixed pool of threads taking tasks in order.
class WorkerPool {
 public:
  WorkerPool(std::size_t threads, const std::string& name) {
    for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) {
      threads_.emplace_back([this, name] {
        pthread_setname_np(pthread_self(), (name.substr(0, 10) + "-work").c_str());
        run();
      });
    }
  }
  ~WorkerPool() { stop(); }

  void post(std::function<void()> task) {
    {
      std::lock_guard guard(mutex_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  // Drops the tasks not started yet and joins the threads (after the running ones).
  void stop() {
    {
      std::lock_guard guard(mutex_);
      if (stopping_) return;
      stopping_ = true;
      tasks_.clear();
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

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
  enum class Phase {
    Handshake,  // TLS handshake in progress
    Idle,       // waiting for the first byte of a request
    Receiving,  // a request has started to arrive
    Handling,   // a handler has the request
    Writing,    // the response is being sent
    Lingering,  // write side closed; reading and dropping until the peer closes
    Closed,     // closed; freed at the end of the loop's turn
  };

  struct Conn {
    std::uint64_t id = 0;
    int fd = -1;
    SSL* ssl = nullptr;
    std::string remote;
    Phase phase = Phase::Idle;
    HttpRequestParser parser;
    std::string in;  // read, not yet parsed (a pipelined request)
    std::size_t in_pos = 0;
    std::string out;
    std::size_t out_pos = 0;
    bool close_after_write = false;
    bool continue_sent = false;
    bool keep_alive = true;
    int minor_version = 1;
    std::uint32_t interest = 0;
    TimePoint since;  // when the current phase began (eviction order)
    std::multimap<TimePoint, std::uint64_t>::iterator timer;
    bool has_timer = false;
    std::size_t lingered = 0;  // bytes dropped after the last response

    explicit Conn(HttpLimits limits) : parser(limits) {}
  };

  struct Route {
    std::string method;
    Handler handler;
    Dispatch dispatch;
  };

  struct Completion {
    std::uint64_t id;
    HttpResponse response;
  };

  explicit Impl(Options o) : options(std::move(o)) {}

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

  void start_loop() {
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd < 0 || wake_fd < 0)
      throw HttpServerError("cannot create an epoll instance: " + errno_text(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
    ev.data.u64 = kWakeTag;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
    workers = std::make_unique<WorkerPool>(options.workers, options.name);
    loop_thread = std::thread([this] {
      pthread_setname_np(pthread_self(), (options.name.substr(0, 10) + "-loop").c_str());
      loop();
    });
  }

  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);
  }

  // ---- the loop -----------------------------------------------------------

  void loop() {
    std::vector<epoll_event> events(256);
    while (true) {
      const TimePoint now = SteadyClock::now();
      if (draining) {
        if (conns.empty()) break;
        if (now >= drain_deadline) {
          while (!conns.empty()) close_conn(*conns.begin()->second, CloseReason::Shutdown);
          break;
        }
      }
      TimePoint next = now + std::chrono::seconds(1);
      if (!timers.empty()) next = std::min(next, timers.begin()->first);
      if (draining) next = std::min(next, drain_deadline);
      if (listener_paused_until) next = std::min(next, *listener_paused_until);
      const auto wait_ms =
          std::chrono::ceil<std::chrono::milliseconds>(std::max(next - now, SteadyClock::duration{}));
      const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()),
                                 static_cast<int>(wait_ms.count()));
      for (int i = 0; i < n; ++i) {
        const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
        const std::uint32_t what = events[static_cast<std::size_t>(i)].events;
        if (tag == kListenerTag) {
          accept_all();
        } else if (tag == kWakeTag) {
          std::uint64_t count;
          [[maybe_unused]] const auto r = ::read(wake_fd, &count, sizeof count);
          take_commands();
        } else if (auto it = conns.find(tag); it != conns.end()) {
          on_ready(*it->second, what);
        }
      }
      // Connections with a pipelined request already read: one request each per turn.
      auto todo = std::move(ready);
      ready.clear();
      for (const std::uint64_t id : todo) {
        if (auto it = conns.find(id); it != conns.end() && it->second->phase == Phase::Idle) {
          Conn& c = *it->second;
          process_input(c);
          if (c.phase == Phase::Idle || c.phase == Phase::Receiving) read_request(c);
        }
      }
      expire(SteadyClock::now());
      if (listener_paused_until && SteadyClock::now() >= *listener_paused_until) resume_listener();
      open_count.store(conns.size(), std::memory_order_relaxed);
      graveyard.clear();
    }
    graveyard.clear();
    open_count.store(0, std::memory_order_relaxed);
  }

  void take_commands() {
    std::vector<Completion> done;
    bool stop_now = false;
    {
      std::lock_guard guard(mutex);
      done.swap(completions);
      stop_now = stop_requested && !draining;
    }
    for (auto& c : done) {
      auto it = conns.find(c.id);
      if (it != conns.end() && it->second->phase == Phase::Handling)
        respond(*it->second, std::move(c.response));
    }
    if (stop_now) begin_drain();
  }

  void begin_drain() {
    draining = true;
    {
      std::lock_guard guard(mutex);
      drain_deadline = requested_deadline;
    }
    if (listen_fd >= 0) {
      ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
      ::close(listen_fd);
      listen_fd = -1;
    }
    // Idle connections keep their idle deadline: a request the client sends on
    // one before then is answered (with Connection: close), not reset.
  }

  void accept_all() {
    while (listen_fd >= 0) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      const int fd =
          ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: make room if anything can go, else stop
          // accepting for a moment (the backlog would wake the loop forever).
          if (!evict_one()) pause_listener();
        }
        return;
      }
      if (conns.size() >= options.max_connections && !evict_one()) {
        ::close(fd);
        count_close(CloseReason::Refused);
        continue;
      }
      const int one = 1;
      // Without TCP_NODELAY a kept-alive response waits ~40 ms for the peer's delayed ACK.
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto conn = std::make_unique<Conn>(options.limits);
      conn->id = next_id++;
      conn->fd = fd;
      conn->remote = peer_address(addr);
      const TimePoint now = SteadyClock::now();
      if (options.tls) {
        conn->ssl = SSL_new(options.tls);
        if (!conn->ssl) {
          ::close(fd);
          count_close(CloseReason::HandshakeFailed);
          continue;
        }
        SSL_set_fd(conn->ssl, fd);
        SSL_set_accept_state(conn->ssl);
        // Partial writes keep the loop from waiting on one slow reader; idle
        // connections give their read and write buffers back.
        SSL_set_mode(conn->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                    SSL_MODE_RELEASE_BUFFERS);
        conn->phase = Phase::Handshake;
        set_deadline(*conn, now + options.request_timeout);
      } else {
        conn->phase = Phase::Idle;
        set_deadline(*conn, now + options.idle_timeout);
      }
      conn->since = now;
      Conn& c = *conn;
      conns.emplace(c.id, std::move(conn));
      accepted.fetch_add(1, std::memory_order_relaxed);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = c.id;
      c.interest = EPOLLIN;
      ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  void pause_listener() {
    if (listen_fd < 0 || listener_paused_until) return;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
    listener_paused_until = SteadyClock::now() + std::chrono::milliseconds(100);
  }
  void resume_listener() {
    listener_paused_until.reset();
    if (listen_fd < 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
  }

  // Closes the connection that does least, for a new one: see the header.
  bool evict_one() {
    Conn* best = nullptr;
    int best_rank = 0;
    for (auto& [id, conn] : conns) {
      int rank = 0;
      switch (conn->phase) {
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
          rank = 0;
          break;
      }
      if (rank == 0) continue;
      if (!best || rank > best_rank || (rank == best_rank && conn->since < best->since)) {
        best = conn.get();
        best_rank = rank;
      }
    }
    if (!best) return false;
    close_conn(*best, best->phase == Phase::Lingering ? std::optional<CloseReason>() : CloseReason::Evicted);
    return true;
  }

  void on_ready(Conn& c, std::uint32_t what) {
    // An error or a hang-up in both directions (a reset): nobody to answer.
    // Reported whatever the interest, so it must end the connection here or
    // the loop would spin on it while a handler runs.
    if (what & (EPOLLERR | EPOLLHUP)) {
      close_conn(c, std::nullopt);
      return;
    }
    switch (c.phase) {
      case Phase::Handshake:
        handshake(c);
        break;
      case Phase::Idle:
      case Phase::Receiving:
        if (c.out_pos < c.out.size() && !flush(c)) return;
        read_request(c);
        break;
      case Phase::Handling:
        if (c.out_pos < c.out.size()) flush(c);  // a 100 Continue still going out
        break;
      case Phase::Writing:
        write_response(c);
        break;
      case Phase::Lingering:
        linger(c);
        break;
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

  void want(Conn& c, std::uint32_t interest) {
    if (c.interest == interest) return;
    epoll_event ev{};
    ev.events = interest;
    ev.data.u64 = c.id;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
    c.interest = interest;
  }

  void handshake(Conn& c) {
    ERR_clear_error();
    const int rc = SSL_do_handshake(c.ssl);
    if (rc == 1) {
      c.phase = Phase::Idle;
      c.since = SteadyClock::now();
      set_deadline(c, c.since + options.idle_timeout);
      want(c, EPOLLIN);
      read_request(c);  // the first request may have come with the last handshake flight
      return;
    }
    switch (io_result(c, rc)) {
      case Io::WantRead:
        want(c, EPOLLIN);
        break;
      case Io::WantWrite:
        want(c, EPOLLOUT);
        break;
      default:
        close_conn(c, CloseReason::HandshakeFailed);
        break;
    }
  }

  // Reads what has arrived and parses it, until a request is whole, the
  // socket has nothing more, or this turn's budget is spent.
  void read_request(Conn& c) {
    static thread_local char buf[kReadChunk];
    std::size_t budget = kReadBudget;
    while (c.phase == Phase::Idle || c.phase == Phase::Receiving) {
      std::size_t n = 0;
      switch (read_some(c, buf, sizeof buf, n)) {
        case Io::Ok:
          c.in.append(buf, n);
          process_input(c);
          if (n >= budget) return;  // level-triggered: the rest wakes us again
          budget -= n;
          continue;
        case Io::WantRead:
          want(c, kIn | (c.out_pos < c.out.size() ? kOut : 0u));
          return;
        case Io::WantWrite:
          want(c, EPOLLIN | EPOLLOUT);
          return;
        case Io::Eof:
        case Io::Error:
          // Gone before (or in the middle of) a request: nothing to answer.
          close_conn(c, std::nullopt);
          return;
      }
    }
  }

  void process_input(Conn& c) {
    while ((c.phase == Phase::Idle || c.phase == Phase::Receiving) && c.in_pos < c.in.size()) {
      const bool was_started = c.parser.started();
      c.in_pos += c.parser.feed(std::string_view(c.in).substr(c.in_pos));
      if (!was_started && c.parser.started()) {
        // The deadline is for the whole request, not per byte: one byte a
        // second cannot hold a connection for longer than request_timeout.
        c.phase = Phase::Receiving;
        c.since = SteadyClock::now();
        set_deadline(c, c.since + options.request_timeout);
      }
      if (c.parser.state() == HttpRequestParser::State::Body && c.parser.request().expects_continue &&
          !c.continue_sent) {
        c.continue_sent = true;
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
        if (!flush(c)) return;
      }
      if (c.parser.state() == HttpRequestParser::State::Complete) {
        compact_input(c);
        dispatch(c);
        return;
      }
      if (c.parser.state() == HttpRequestParser::State::Failed) {
        c.in.clear();
        c.in_pos = 0;
        fail_request(c, c.parser.error_status(), c.parser.error_message());
        return;
      }
    }
    compact_input(c);
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
          want(c, (c.phase == Phase::Writing || c.phase == Phase::Handling ? 0u : kIn) | kOut);
          return true;
        case Io::WantRead:
          want(c, EPOLLIN);
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

  void dispatch(Conn& c) {
    HttpRequest request = c.parser.take_request();
    request.remote_addr = c.remote;
    c.keep_alive = request.keep_alive;
    c.minor_version = request.minor_version;
    c.phase = Phase::Handling;
    clear_deadline(c);
    want(c, c.out_pos < c.out.size() ? kOut : 0u);

    const Route* route = nullptr;
    bool path_known = false;
    std::string allow;
    if (auto it = routes.find(request.path); it != routes.end()) {
      path_known = true;
      for (const Route& r : it->second) {
        if (r.method == request.method) route = &r;
        allow += (allow.empty() ? "" : ", ") + r.method;
      }
    }
    if (!route) {
      HttpResponse res;
      if (path_known) {
        res.status = 405;
        res.headers.emplace_back("Allow", allow);
        finish_error(&request, res, request.method + " " + request.path + ": use " + allow);
      } else {
        res.status = 404;
        finish_error(&request, res, "no route for " + request.method + " " + request.path);
      }
      respond(c, std::move(res));
      return;
    }
    if (route->dispatch == Dispatch::Inline) {
      HttpResponse res = run_handler(*route, request);
      respond(c, std::move(res));
      return;
    }
    workers->post([this, id = c.id, handler = route, request = std::move(request)]() mutable {
      HttpResponse res = run_handler(*handler, request);
      {
        std::lock_guard guard(mutex);
        completions.push_back({id, std::move(res)});
      }
      wake();
    });
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
    const bool close = res.close || !c.keep_alive || closing.load(std::memory_order_relaxed) || draining;
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
    c.phase = Phase::Writing;
    c.since = SteadyClock::now();
    set_deadline(c, c.since + options.write_timeout);
    write_response(c);
  }

  void write_response(Conn& c) {
    if (!flush(c)) return;
    if (c.out_pos < c.out.size()) return;  // the rest when writable
    if (c.close_after_write) {
      start_linger(c);
      return;
    }
    // Ready for the next request on this connection.
    c.parser.reset();
    c.continue_sent = false;
    c.phase = Phase::Idle;
    c.since = SteadyClock::now();
    set_deadline(c, c.since + options.idle_timeout);
    want(c, EPOLLIN);
    if (!c.in.empty()) ready.push_back(c.id);  // a pipelined request: next turn, in order
  }

  void start_linger(Conn& c) {
    c.phase = Phase::Lingering;
    c.since = SteadyClock::now();
    if (c.ssl) {
      ERR_clear_error();
      SSL_shutdown(c.ssl);  // close_notify, if it fits in the socket buffer now
    }
    ::shutdown(c.fd, SHUT_WR);
    set_deadline(c, c.since + options.linger);
    want(c, EPOLLIN);
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

  // ---- deadlines ----------------------------------------------------------

  void set_deadline(Conn& c, TimePoint when) {
    clear_deadline(c);
    c.timer = timers.emplace(when, c.id);
    c.has_timer = true;
  }
  void clear_deadline(Conn& c) {
    if (c.has_timer) timers.erase(c.timer);
    c.has_timer = false;
  }

  void expire(TimePoint now) {
    while (!timers.empty() && timers.begin()->first <= now) {
      const std::uint64_t id = timers.begin()->second;
      auto it = conns.find(id);
      if (it == conns.end()) {
        timers.erase(timers.begin());
        continue;
      }
      Conn& c = *it->second;
      clear_deadline(c);
      switch (c.phase) {
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
  }

  // ---- closing ------------------------------------------------------------

  void count_close(CloseReason reason) {
    closed[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }

  // The connection object lives on until the end of the loop's turn: a caller
  // up the stack may still look at it (and finds it Closed).
  void close_conn(Conn& c, std::optional<CloseReason> reason) {
    if (c.phase == Phase::Closed) return;
    if (reason) count_close(*reason);
    clear_deadline(c);
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
    if (c.ssl) SSL_free(c.ssl);
    c.ssl = nullptr;
    ::close(c.fd);
    c.fd = -1;
    c.phase = Phase::Closed;
    auto it = conns.find(c.id);
    graveyard.push_back(std::move(it->second));
    conns.erase(it);
  }

  void shutdown_all() {
    if (loop_thread.joinable()) loop_thread.join();
    if (workers) workers->stop();
    for (int* fd : {&listen_fd, &epoll_fd, &wake_fd}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

  Options options;
  std::unordered_map<std::string, std::vector<Route>> routes;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  int bound_port = -1;
  std::unique_ptr<WorkerPool> workers;
  std::thread loop_thread;

  // Owned by the loop thread.
  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns;
  std::vector<std::unique_ptr<Conn>> graveyard;  // closed this turn
  std::multimap<TimePoint, std::uint64_t> timers;
  std::vector<std::uint64_t> ready;
  std::uint64_t next_id = 2;
  bool draining = false;
  TimePoint drain_deadline{};
  std::optional<TimePoint> listener_paused_until;

  // Shared with other threads.
  std::mutex mutex;
  std::vector<Completion> completions;
  bool stop_requested = false;
  TimePoint requested_deadline{};
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

void HttpServer::route(const std::string& method, const std::string& path, Handler handler,
                       Dispatch dispatch) {
  impl_->routes[path].push_back({method, std::move(handler), dispatch});
}

int HttpServer::bind() {
  return impl_->bind_listener();
}

void HttpServer::start() {
  std::lock_guard guard(impl_->lifecycle_mutex);
  if (impl_->started) return;
  if (impl_->listen_fd < 0) impl_->bind_listener();
  impl_->start_loop();
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
  {
    std::lock_guard g(impl_->mutex);
    impl_->stop_requested = true;
    impl_->requested_deadline = deadline;
  }
  impl_->wake();
  impl_->shutdown_all();
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

// Constant-response HTTPS server: the baseline of bench/webhook.sh.
//
// It answers POST /validate with a fixed AdmissionReview response (allowed:
// true) and GET /healthz with "ok", on cpp-httplib's SSLServer with the same
// settings as `cdc-guard serve` (src/server/, include/cdcguard/webhook_server.hpp):
// TCP_NODELAY, keep-alive for 100000 requests and 5 s idle, a pool of 64
// threads, 10 s read/write timeouts, a 4 MiB body limit, TLS 1.2 minimum with
// the same SSL_CTX options. httplib reads the whole request body; nothing
// else is done with it. What cdc-guard costs on top of this is its own work:
// JSON parsing, the rules against the registry, metrics and logging.
//
// Build (Debian libcpp-httplib-dev 0.11.4, the compiled library):
//   g++ -O2 -std=c++20 bench/constant_server.cpp $(pkg-config --cflags --libs cpp-httplib)
//       -lssl -lcrypto -pthread -o constant_server        (one line)
// Run:
//   constant_server CERT KEY PORT [RESPONSE_FILE]
// RESPONSE_FILE replaces the built-in response body (bench/webhook.sh passes
// the response cdc-guard gives to its request, so both send the same bytes).
#include <httplib.h>
#include <openssl/ssl.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

httplib::Server* g_server = nullptr;

void on_signal(int) {
  if (g_server) g_server->stop();
}

const char* kDefaultResponse = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",)"
                               R"("response":{"allowed":true,"uid":"5f3c0d6e-8a51-4b8e-9c1e-3d2a7b9f4e10"}})";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::cerr << "usage: " << argv[0] << " CERT KEY PORT [RESPONSE_FILE]\n";
    return 2;
  }
  const int port = std::atoi(argv[3]);
  std::string response = kDefaultResponse;
  if (argc == 5) {
    std::ifstream in(argv[4], std::ios::binary);
    if (!in) {
      std::cerr << "cannot read " << argv[4] << "\n";
      return 2;
    }
    std::ostringstream s;
    s << in.rdbuf();
    response = s.str();
  }

  httplib::SSLServer server(argv[1], argv[2]);
  if (!server.is_valid()) {
    std::cerr << "cannot load certificate " << argv[1] << " / key " << argv[2] << "\n";
    return 1;
  }
  SSL_CTX* ctx = server.ssl_context();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    std::cerr << "cannot set TLS 1.2 minimum\n";
    return 1;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);

  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100000);
  server.set_keep_alive_timeout(5);
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  server.set_payload_max_length(4 * 1024 * 1024);

  server.Post("/validate", [&response](const httplib::Request&, httplib::Response& res) {
    res.set_content(response, "application/json");
  });
  server.Get("/healthz",
             [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });

  g_server = &server;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  if (!server.bind_to_port("127.0.0.1", port)) {
    std::cerr << "cannot bind 127.0.0.1:" << port << "\n";
    return 1;
  }
  std::cerr << "constant_server listening on https://127.0.0.1:" << port << "\n";
  server.listen_after_bind();
  return 0;
}

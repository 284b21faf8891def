// Tests of sluice/http.hpp against peers nobody here wrote: Python's http.server and aiohttp
// (tests/peers/http_peer.py, plain and TLS), Debian's nginx (started by the test on a loopback port
// with its own prefix), and curl, urllib and aiohttp's client driving http::server. Certificates
// are made at test time by `openssl req`.
//
// What must be cut short blocks on a peer that stalls for an hour, so a bug is a CTest TIMEOUT; no
// upper bound on time is asserted. No co_await inside a Catch macro (see support/await_error.hpp).

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/http.hpp>
#include <sluice/net.hpp>
#include <sluice/task.hpp>
#include <sluice/thread_pool.hpp>
#include <sluice/time.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/await_error.hpp"
#include "support/co_test.hpp"
#include "support/peer_process.hpp"

using namespace std::chrono_literals;
namespace http = sluice::http;
using sluice_test::peer_process;

namespace {

std::pair<std::string, std::string> certificate() { return sluice_test::test_certificate(SLUICE_TEST_OPENSSL); }

/// http_peer.py as `kind` ("stdlib" or "aiohttp"), over TLS or not; `base` is its URL prefix.
struct python_peer {
    peer_process process;
    std::string base;
    python_peer(const std::string& kind, bool tls)
        : process(tls ? std::vector<std::string>{SLUICE_TEST_PYTHON, std::string(SLUICE_TEST_DIR) + "/peers/http_peer.py", kind,
                                                 certificate().first, certificate().second}
                      : std::vector<std::string>{SLUICE_TEST_PYTHON, std::string(SLUICE_TEST_DIR) + "/peers/http_peer.py", kind}) {
        base = std::string(tls ? "https://localhost:" : "http://127.0.0.1:") + process.read_line();
    }
};

/// A client trusting the test certificate, with the given changes to its options.
http::client_options trusting(std::function<void(http::client_options&)> change = {}) {
    http::client_options options;
    options.tls = sluice::tls_context::client();
    options.tls->add_trusted(certificate().first);
    if (change) change(options);
    return options;
}

/// Awaits a request expected to fail; the http::error's kind and message.
sluice::task<std::pair<http::error_kind, std::string>> failure(sluice::task<http::response> request) {
    try {
        (void)co_await std::move(request);
    } catch (const http::error& e) {
        co_return std::pair{e.kind(), std::string(e.what())};
    }
    FAIL("the request succeeded");
    co_return std::pair{http::error_kind::io, std::string()};
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// --- the scenarios, each run against every Python peer ---------------------------------------------

sluice::task<void> keep_alive_reuse(const std::string& base) {
    http::client client(trusting());
    for (int i = 0; i < 5; ++i) {
        const http::response r = co_await client.get(base + "/conn");
        CHECK(r.status == 200);
        CHECK(r.body == "1");  // the server saw one connection
    }
    CHECK(client.stats().connections_opened == 1);
    CHECK(client.stats().connections_reused == 4);
    CHECK(client.idle_connections() == 1);
}

/// Python's http.server over TLS closes without close_notify: a close-delimited body cannot be told
/// from a truncated one then, and is an error (aiohttp sends close_notify).
bool ragged_tls_close = false;

sluice::task<void> chunked_and_close_delimited(const std::string& base) {
    http::client client(trusting());
    const http::response chunked = co_await client.get(base + "/chunked");
    CHECK(chunked.body == "chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;chunk-5;chunk-6;chunk-7;chunk-8;chunk-9;");
    CHECK(chunked.header("transfer-encoding").value_or("") == "chunked");
    CHECK(client.idle_connections() == 1);
    client.close_idle();
    if (ragged_tls_close) {
        const auto [kind, message] = co_await failure(client.get(base + "/close"));
        CHECK(kind == http::error_kind::tls);
        CHECK(contains(message, "without close_notify (truncated stream)"));
    } else {
        const http::response closed = co_await client.get(base + "/close");
        CHECK(closed.body == "until the end");
        CHECK(closed.header("Content-Length") == std::nullopt);
    }
    CHECK(client.idle_connections() == 0);  // the body ended with the connection
}

sluice::task<void> redirects(const std::string& base) {
    http::client client(trusting([](auto& o) { o.max_redirects = 5; }));
    const http::response r = co_await client.get(base + "/redirect/3");
    CHECK(r.status == 200);
    CHECK(r.body == "arrived");
    CHECK(r.redirects == 3);
    CHECK(r.url == base + "/redirect/0");
    const auto [kind, message] = co_await failure(client.get(base + "/loop"));
    CHECK(kind == http::error_kind::too_many_redirects);
    CHECK(contains(message, "GET " + base + "/loop: more than 5 redirects"));
    http::client manual(trusting([](auto& o) { o.max_redirects = 0; }));
    const http::response not_followed = co_await manual.get(base + "/redirect/1");
    CHECK(not_followed.status == 302);
    CHECK(not_followed.header("location").value_or("") == "0");
}

sluice::task<void> error_statuses_are_responses(const std::string& base) {
    http::client client(trusting());
    const http::response missing = co_await client.get(base + "/status/404");
    CHECK(missing.status == 404);
    CHECK(missing.body == "status 404");
    const http::response broken = co_await client.get(base + "/status/500");
    CHECK(broken.status == 500);
    CHECK(broken.body == "status 500");
    CHECK(client.stats().connections_opened == 1);
    http::request post;
    post.method = "POST";
    post.url = base + "/echo";
    post.body = "payload";
    const http::response echoed = co_await client.request(post);
    CHECK(echoed.body == "POST payload");
}

sluice::task<void> stalled_server_times_out(const std::string& base) {
    http::client client(trusting());
    const http::response first = co_await client.get(base + "/conn");  // the connection is warm
    http::request stall;
    stall.url = base + "/stall";
    stall.timeout = 100ms;
    const auto [kind, message] = co_await failure(client.request(stall));
    CHECK(kind == http::error_kind::timeout);
    CHECK(contains(message, "GET " + base + "/stall: timed out after 100 ms"));
    CHECK(client.idle_connections() == 0);  // the half-read response went away with its connection
    const http::response next = co_await client.get(base + "/conn");
    CHECK(first.body == "1");
    CHECK(next.body == "2");
    CHECK(client.stats().connections_opened == 2);
}

sluice::task<void> reset_mid_body(const std::string& base) {
    http::client client(trusting());
    const auto [kind, message] = co_await failure(client.get(base + "/reset"));
    INFO(message);
    CHECK((kind == http::error_kind::io || kind == http::error_kind::tls));
    CHECK(contains(message, "GET " + base + "/reset: "));
    CHECK(client.idle_connections() == 0);
}

sluice::task<void> oversized_body(const std::string& base) {
    http::client client(trusting([](auto& o) { o.max_body_size = 1000; }));
    const http::response fits = co_await client.get(base + "/big/1000");
    CHECK(fits.body.size() == 1000);
    const auto [kind, message] = co_await failure(client.get(base + "/big/100000"));
    CHECK(kind == http::error_kind::body_too_large);
    CHECK(contains(message, "GET " + base + "/big/100000: the response body from "));
    CHECK(contains(message, "exceeds the limit of 1000 bytes"));
    CHECK(client.idle_connections() == 0);
}

sluice::task<void> cancelled_request_never_pools_half_a_response(const std::string& base) {
    http::client client(trusting());
    const http::response first = co_await client.get(base + "/conn");
    auto stalled = sluice::spawn(client.get(base + "/stall"));  // reuses connection 1, gets 5 of 10 bytes
    co_await sluice::sleep_for(50ms);
    stalled.cancel();
    const std::string cancelled = co_await sluice_test::error_of<sluice::cancelled_error>(std::move(stalled));
    CHECK(cancelled == "sluice: task cancelled");
    CHECK(client.idle_connections() == 0);
    const http::response after = co_await client.get(base + "/conn");
    CHECK(first.body == "1");
    CHECK(after.body == "2");  // a fresh connection, not the one holding the rest of /stall
}

sluice::task<void> concurrent_requests_share_the_pool(const std::string& base) {
    http::client client(trusting([](auto& o) { o.max_connections_per_host = 2; }));
    std::vector<sluice::join_handle<http::response>> handles;
    for (int i = 0; i < 6; ++i) handles.push_back(sluice::spawn(client.get(base + "/hello")));
    for (auto& h : handles) {
        const http::response r = co_await std::move(h);
        CHECK(r.body == "hello");
    }
    CHECK(client.stats().connections_opened <= 2);  // six requests, never more than two connections
    CHECK(client.stats().connections_reused >= 4);
}

sluice::task<void> run_scenario(const std::string& kind, bool tls, sluice::task<void> (*scenario)(const std::string&)) {
    python_peer peer(kind, tls);
    ragged_tls_close = tls && kind == "stdlib";
    co_await scenario(peer.base);
}

}  // namespace

// Four Catch test cases per scenario (SLUICE_TEST_CASE names its body after the line, so plain
// TEST_CASEs run the coroutine here).
#define SLUICE_PEER_SCENARIO(scenario, title)                                                                   \
    TEST_CASE("http::client vs http.server: " title, "[http][stdlib]") { sluice::run(run_scenario("stdlib", false, scenario)); } \
    TEST_CASE("http::client vs http.server over TLS: " title, "[http][stdlib][tls]") {                          \
        sluice::run(run_scenario("stdlib", true, scenario));                                                    \
    }                                                                                                           \
    TEST_CASE("http::client vs aiohttp: " title, "[http][aiohttp]") { sluice::run(run_scenario("aiohttp", false, scenario)); } \
    TEST_CASE("http::client vs aiohttp over TLS: " title, "[http][aiohttp][tls]") {                             \
        sluice::run(run_scenario("aiohttp", true, scenario));                                                   \
    }

SLUICE_PEER_SCENARIO(keep_alive_reuse, "keep-alive connections are reused")
SLUICE_PEER_SCENARIO(chunked_and_close_delimited, "chunked and close-delimited bodies")
SLUICE_PEER_SCENARIO(redirects, "redirects are followed, bounded, and report the final URL")
SLUICE_PEER_SCENARIO(error_statuses_are_responses, "404 and 500 are responses, POST sends a body")
SLUICE_PEER_SCENARIO(stalled_server_times_out, "a stalled response times out and its connection is dropped")
SLUICE_PEER_SCENARIO(reset_mid_body, "a reset in the middle of the body is an error naming the URL")
SLUICE_PEER_SCENARIO(oversized_body, "a body over the limit is an error")
SLUICE_PEER_SCENARIO(cancelled_request_never_pools_half_a_response, "a cancelled request never pools half a response")
SLUICE_PEER_SCENARIO(concurrent_requests_share_the_pool, "concurrent requests wait for a bounded pool")

SLUICE_TEST_CASE("http::client: a pooled connection the server closed meanwhile is replaced transparently", "[http][stdlib]") {
    python_peer peer("stdlib", false);
    http::client client;
    const http::response dropping = co_await client.get(peer.base + "/drop-later");
    CHECK(dropping.body == "dropping");
    CHECK(client.idle_connections() == 1);  // pooled: the response said nothing of closing
    const http::response next = co_await client.get(peer.base + "/conn");
    CHECK(next.status == 200);
    CHECK(next.body == "2");
    CHECK(client.stats().connections_opened == 2);
    CHECK(client.stats().connections_reused == 1);  // tried, found closed, replaced
}

SLUICE_TEST_CASE("http::client: a self-signed certificate is rejected with a clear error naming the URL", "[http][tls]") {
    python_peer peer("stdlib", true);
    http::client client;  // the system CA store only
    const auto [kind, message] = co_await failure(client.get(peer.base + "/hello"));
    CHECK(kind == http::error_kind::tls);
    CHECK(contains(message, "GET " + peer.base + "/hello: sluice: TLS handshake with localhost: certificate verify failed: self-signed certificate"));
}

SLUICE_TEST_CASE("http::client: bad URLs, refused connections and bad options are clear errors", "[http]") {
    http::client client;
    for (const char* bad : {"ftp://example.org/", "http://", "http://host:99999/", "example.org/x", "http://a b/", "http://user@host/"}) {
        const auto [kind, message] = co_await failure(client.get(bad));
        CHECK(kind == http::error_kind::invalid_url);
        CHECK(contains(message, std::string("GET ") + bad + ": not an absolute http:// or https:// URL"));
    }
    sluice::tcp_listener closed = sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0));
    const std::string url = "http://127.0.0.1:" + std::to_string(closed.local_endpoint().port()) + "/x";
    closed.close();
    const auto [kind, message] = co_await failure(client.get(url));
    CHECK(kind == http::error_kind::connect);
    CHECK(contains(message, "GET " + url + ": cannot connect to 127.0.0.1:"));
    http::client_options none;
    none.max_connections_per_host = 0;
    CHECK_THROWS_AS(http::client(none), std::invalid_argument);
}

// --- nginx --------------------------------------------------------------------------------------------

namespace {

/// A free loopback port (bound, then released: nginx binds it right after).
std::uint16_t free_port() {
    sluice::tcp_listener probe = sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0));
    return probe.local_endpoint().port();
}

/// Blocks until something accepts connections on 127.0.0.1:port.
void wait_until_listening(std::uint16_t port) {
    for (int attempt = 0;; ++attempt) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sluice::endpoint target("127.0.0.1", port);
        const bool up = ::connect(fd, target.data(), target.size()) == 0;
        ::close(fd);
        if (up) return;
        ::usleep(20000);
    }
}

/// nginx in the foreground, one process, its prefix (config, logs, temp files, pid, static files)
/// in the scratch directory: http on `port`, https on `tls_port`.
struct nginx_peer {
    std::uint16_t port = free_port();
    std::uint16_t tls_port = free_port();
    std::string prefix = sluice_test::scratch_directory() + "/nginx-" + std::to_string(port);
    peer_process process;

    nginx_peer() : process(start(port, tls_port, prefix)) {
        wait_until_listening(port);
        wait_until_listening(tls_port);
    }

    static std::vector<std::string> start(std::uint16_t port, std::uint16_t tls_port, const std::string& prefix) {
        sluice_test::run_command("mkdir -p " + prefix + "/html/files " + prefix + "/logs");
        std::ofstream(prefix + "/html/small.txt") << "small file\n";
        std::ofstream(prefix + "/html/text.txt") << std::string(20000, 'a') + "\n";
        for (int i = 0; i < 50; ++i) std::ofstream(prefix + "/html/files/" + std::to_string(i) + ".txt") << "file " << i << "\n";
        const auto [cert, key] = certificate();
        std::ofstream(prefix + "/nginx.conf") << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
            "error_log " << prefix << "/logs/error.log;\npid " << prefix << "/nginx.pid;\n"
            "events { worker_connections 512; }\n"
            "http {\n  access_log off;\n"
            "  client_body_temp_path " << prefix << "/tmp-body;\n  proxy_temp_path " << prefix << "/tmp-proxy;\n"
            "  fastcgi_temp_path " << prefix << "/tmp-fastcgi;\n  uwsgi_temp_path " << prefix << "/tmp-uwsgi;\n"
            "  scgi_temp_path " << prefix << "/tmp-scgi;\n"
            "  gzip on;\n  gzip_min_length 1;\n  gzip_types text/plain;\n  default_type text/plain;\n"
            "  server {\n    listen 127.0.0.1:" << port << ";\n    listen 127.0.0.1:" << tls_port << " ssl;\n"
            "    ssl_certificate " << cert << ";\n    ssl_certificate_key " << key << ";\n"
            "    root " << prefix << "/html;\n"
            "    location = /old { return 301 /small.txt; }\n"
            "    location = /fail { return 500; }\n  }\n}\n";
        return {SLUICE_TEST_NGINX, "-p", prefix, "-c", prefix + "/nginx.conf"};
    }
};

}  // namespace

SLUICE_TEST_CASE("http::client vs nginx: static files over one keep-alive connection, redirects, 404, 500, gzip chunked",
                 "[http][nginx]") {
    nginx_peer nginx;
    const std::vector<std::string> bases{"http://127.0.0.1:" + std::to_string(nginx.port), "https://localhost:" + std::to_string(nginx.tls_port)};
    for (const std::string& base : bases) {
        INFO(base);
        http::client client(trusting());
        for (int i = 0; i < 50; ++i) {
            const http::response r = co_await client.get(base + "/files/" + std::to_string(i) + ".txt");
            CHECK(r.status == 200);
            CHECK(r.body == "file " + std::to_string(i) + "\n");
        }
        CHECK(client.stats().connections_opened == 1);
        const http::response moved = co_await client.get(base + "/old");
        CHECK(moved.status == 200);
        CHECK(moved.body == "small file\n");
        CHECK(moved.url == base + "/small.txt");
        CHECK(moved.redirects == 1);
        const http::response missing = co_await client.get(base + "/nothing-here");
        CHECK(missing.status == 404);
        CHECK(contains(missing.body, "404 Not Found"));
        CHECK(client.stats().connections_opened == 1);
        const http::response failed = co_await client.get(base + "/fail");
        CHECK(failed.status == 500);
        CHECK(failed.header("Connection").value_or("") == "close");  // nginx ends keep-alive on a 500
        http::request gz;
        gz.url = base + "/text.txt";
        gz.fields = {{"Accept-Encoding", "gzip"}};
        const http::response zipped = co_await client.request(gz);
        CHECK(zipped.header("Content-Encoding").value_or("") == "gzip");
        CHECK(zipped.header("Transfer-Encoding").value_or("") == "chunked");
        CHECK(zipped.body.size() > 10);
        CHECK(zipped.body.substr(0, 2) == "\x1f\x8b");
        CHECK(client.stats().connections_opened == 2);
        http::client limited(trusting([](auto& o) { o.max_body_size = 100; }));
        const auto [kind, message] = co_await failure(limited.get(base + "/text.txt"));
        CHECK(kind == http::error_kind::body_too_large);
    }
}

// --- http::server, driven by curl, urllib and aiohttp ------------------------------------------------

namespace {

sluice::task<http::response> demo_handler(http::request r) {
    http::response res;
    if (r.url == "/missing") {
        res.status = 404;
        res.body = "nothing at " + r.url;
    } else if (r.url == "/throw") {
        throw std::runtime_error("handler failed");
    } else {
        co_await sluice::sleep_for(1ms);
        res.fields = {{"Content-Type", "text/plain"}, {"X-Method", r.method}};
        res.body = r.method + " " + r.url + " " + std::to_string(r.body.size());
    }
    co_return res;
}

/// Runs a client program to its end without blocking the loop (the server runs on it); its output.
auto run_client(std::vector<std::string> argv) {
    return sluice::to_thread([argv = std::move(argv)] {
        peer_process process(argv);
        return process.finish();
    });
}

}  // namespace

SLUICE_TEST_CASE("http::server: curl keeps one connection alive, gets 404 and 500, and is refused an oversized body",
                 "[http][server][curl]") {
    http::server_options options;
    options.max_body_size = 1000;
    http::server server(sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0)), demo_handler, options);
    auto serving = sluice::spawn(server.serve());
    const std::string base = "http://127.0.0.1:" + std::to_string(server.local_endpoint().port());
    const std::vector<std::string> argv1{SLUICE_TEST_CURL, "-sS", "-w", " %{http_code}\\n", base + "/a", base + "/b?x=1",
                                                     base + "/missing", base + "/throw"};

    const auto [out, status] = co_await run_client(argv1);
    CHECK(status == 0);
    CHECK(out == "GET /a 0 200\nGET /b?x=1 0 200\nnothing at /missing 404\n 500\n");
    CHECK(server.connections() == 1);  // kept alive for all four; the 500 then closed it
    CHECK(server.requests() == 4);
    const std::string big = sluice_test::scratch_directory() + "/big-request.bin";
    std::ofstream(big) << std::string(5000, 'b');
    const std::vector<std::string> argv2{SLUICE_TEST_CURL, "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                                "--data-binary", "@" + big, base + "/upload"};

    const auto [refused, refused_status] = co_await run_client(argv2);
    CHECK(refused == "413");
    const std::vector<std::string> argv3{SLUICE_TEST_CURL, "-sS", "-I", base + "/h"};

    const auto [head, head_status] = co_await run_client(argv3);
    CHECK(contains(head, "Content-Length: 9"));  // "HEAD /h 0": the length of the GET body, no body
    serving.cancel();
    const std::string stopped = co_await sluice_test::error_of<sluice::cancelled_error>(std::move(serving));
    CHECK(stopped == "sluice: task cancelled");
}

SLUICE_TEST_CASE("http::server over TLS: curl verifies the certificate", "[http][server][curl][tls]") {
    const std::pair<std::string, std::string> pem = certificate();
    const std::string& cert = pem.first;
    const std::string& key = pem.second;
    http::server_options options;
    options.tls = sluice::tls_context::server(cert, key);
    http::server server(sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0)), demo_handler, options);
    auto serving = sluice::spawn(server.serve());
    const std::string base = "https://localhost:" + std::to_string(server.local_endpoint().port());
    const std::vector<std::string> argv4{SLUICE_TEST_CURL, "-sS", "--cacert", cert, base + "/secure", base + "/again"};

    const auto [out, status] = co_await run_client(argv4);
    CHECK(status == 0);
    CHECK(out == "GET /secure 0GET /again 0");
    CHECK(server.connections() == 1);
    serving.cancel();
    (void)co_await serving.as_result();
}

SLUICE_TEST_CASE("http::server: Python's urllib and an aiohttp session (keep-alive) are served", "[http][server][aiohttp]") {
    http::server server(sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0)), demo_handler);
    auto serving = sluice::spawn(server.serve());
    const std::string base = "http://127.0.0.1:" + std::to_string(server.local_endpoint().port());
    const std::vector<std::string> argv5{SLUICE_TEST_PYTHON, "-c",
        "import sys, urllib.request\n"
        "r = urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/post', data=b'12345'))\n"
        "print(r.status, r.headers['X-Method'], r.read().decode())\n", base};

    const auto [urllib, urllib_status] = co_await run_client(argv5);
    CHECK(urllib_status == 0);
    CHECK(urllib == "200 POST POST /post 5\n");
    const std::uint64_t before = server.connections();
    const std::vector<std::string> argv6{SLUICE_TEST_PYTHON, "-c",
        "import asyncio, sys, aiohttp\n"
        "async def main():\n"
        "    async with aiohttp.ClientSession() as s:\n"
        "        for i in range(5):\n"
        "            async with s.get(f'{sys.argv[1]}/n{i}') as r:\n"
        "                print(r.status, await r.text())\n"
        "asyncio.run(main())\n", base};

    const auto [session, session_status] = co_await run_client(argv6);
    CHECK(session_status == 0);
    CHECK(session == "200 GET /n0 0\n200 GET /n1 0\n200 GET /n2 0\n200 GET /n3 0\n200 GET /n4 0\n");
    CHECK(server.connections() == before + 1);  // aiohttp reused its connection
    serving.cancel();
    (void)co_await serving.as_result();
}

SLUICE_TEST_CASE("http::server without a listener: serve_connection serves streams accepted elsewhere, serve() is a logic_error",
                 "[http][server]") {
    http::server server(demo_handler);
    const std::string no_listener = co_await sluice_test::error_of<std::logic_error>(server.serve());
    CHECK(no_listener == "sluice::http::server: built without a listener (use serve_connection)");
    CHECK_THROWS_AS(server.local_endpoint(), std::logic_error);
    CHECK_THROWS_AS(http::server(http::handler{}), std::invalid_argument);

    sluice::tcp_listener listener = sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0));
    const std::string base = "http://127.0.0.1:" + std::to_string(listener.local_endpoint().port());
    const auto accept_one = [](http::server& to, sluice::tcp_listener& from) -> sluice::task<void> {
        co_await to.serve_connection(co_await from.accept());  // parameters: they live in the frame
    };
    auto serving = sluice::spawn(accept_one(server, listener));
    http::client client;
    const http::response first = co_await client.get(base + "/one");
    const http::response second = co_await client.get(base + "/two");  // the same, kept-alive connection
    CHECK(first.body == "GET /one 0");
    CHECK(second.body == "GET /two 0");
    CHECK(server.connections() == 1);
    CHECK(server.requests() == 2);
    client.close_idle();
    co_await serving;  // the client closed: serve_connection returns
}

namespace {

/// Reads `stream` to its end (the server closing it); everything it sent.
sluice::task<std::string> read_to_end(sluice::tcp_stream& stream) {
    std::string all;
    char buffer[4096];
    for (;;) {
        const std::size_t n = co_await stream.read_some(std::span<char>(buffer));
        if (n == 0) co_return all;
        all.append(buffer, n);
    }
}

}  // namespace

SLUICE_TEST_CASE("http::server: a connection idle for idle_timeout is closed, before its first request and between requests",
                 "[http][server][idle]") {
    http::server_options options;
    options.idle_timeout = 200ms;
    http::server server(sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0)), demo_handler, options);
    auto serving = sluice::spawn(server.serve());
    const sluice::endpoint where = server.local_endpoint();

    // Silent from the start: closed without a byte. (Without the timeout this read never ends: a
    // CTest TIMEOUT.)
    auto start = std::chrono::steady_clock::now();
    sluice::tcp_stream silent = co_await sluice::tcp_stream::connect(where);
    CHECK(co_await read_to_end(silent) == "");
    CHECK(std::chrono::steady_clock::now() - start >= 200ms);

    // One request (kept alive: HTTP/1.1), then silence: the response, then the close.
    start = std::chrono::steady_clock::now();
    sluice::tcp_stream once = co_await sluice::tcp_stream::connect(where);
    co_await once.write_all(std::string_view("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string answered = co_await read_to_end(once);
    CHECK(answered.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(answered.ends_with("\r\n\r\nGET /first 0"));
    CHECK(std::chrono::steady_clock::now() - start >= 200ms);
    CHECK(server.requests() == 1);
    serving.cancel();
    (void)co_await serving.as_result();
}

SLUICE_TEST_CASE("http::server: idle_timeout never cuts a handler slower than it, nor a client that keeps asking",
                 "[http][server][idle]") {
    http::server_options options;
    options.idle_timeout = 100ms;
    http::server server(sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0)),
                        [](http::request r) -> sluice::task<http::response> {
                            co_await sluice::sleep_for(300ms);  // three idle timeouts
                            http::response res;
                            res.body = "slow " + r.url;
                            co_return res;
                        },
                        options);
    auto serving = sluice::spawn(server.serve());
    const std::string base = "http://127.0.0.1:" + std::to_string(server.local_endpoint().port());
    http::client client;
    for (int i = 0; i < 3; ++i) {
        const http::response r = co_await client.get(base + "/" + std::to_string(i));
        CHECK(r.body == "slow /" + std::to_string(i));
    }
    CHECK(client.stats().connections_opened == 1);  // one connection served all three
    serving.cancel();
    (void)co_await serving.as_result();
}

SLUICE_TEST_CASE("http::client: a redirect to another origin drops Authorization, Cookie and Proxy-Authorization",
                 "[http][stdlib][redirect]") {
    python_peer first("stdlib", false);
    python_peer second("stdlib", false);
    const std::string first_port = first.base.substr(first.base.rfind(':') + 1);
    http::client client;
    const auto fetch = [&client](std::string url) {
        http::request r;
        r.url = std::move(url);
        r.fields = {{"Authorization", "Basic c2VjcmV0"}, {"cookie", "session=1"}, {"Proxy-Authorization", "Basic cHJveHk="},
                    {"X-Kept", "yes"}};
        return client.request(std::move(r));
    };
    // Same origin: everything arrives.
    const http::response same = co_await fetch(first.base + "/goto?" + first.base + "/headers");
    CHECK(same.redirects == 1);
    CHECK(contains(same.body, "Authorization: Basic c2VjcmV0\n"));
    CHECK(contains(same.body, "cookie: session=1\n"));
    CHECK(contains(same.body, "Proxy-Authorization: Basic cHJveHk=\n"));
    CHECK(contains(same.body, "X-Kept: yes\n"));
    // Another port, or another name for the same host and port: none of the three.
    for (const std::string& elsewhere : {second.base + "/headers", "http://localhost:" + first_port + "/headers"}) {
        const http::response moved = co_await fetch(first.base + "/goto?" + elsewhere);
        CHECK(moved.url == elsewhere);
        CHECK(moved.status == 200);
        CHECK(!contains(moved.body, "Authorization"));
        CHECK(!contains(moved.body, "ookie"));
        CHECK(contains(moved.body, "X-Kept: yes\n"));
    }
    // Dropped for the rest of the chain, even back at the first origin.
    const http::response back = co_await fetch(first.base + "/goto?" + second.base + "/goto?" + first.base + "/headers");
    CHECK(back.redirects == 2);
    CHECK(!contains(back.body, "Authorization"));
    CHECK(!contains(back.body, "ookie"));
}

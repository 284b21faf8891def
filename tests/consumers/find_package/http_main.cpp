// A sluice user's program against the installed sluice::http component (<sluice/http.hpp>): an
// http::server on a loopback port answers three GETs from an http::client over one kept-alive
// connection. Exits 1 on a wrong answer.

#include <sluice/event_loop.hpp>
#include <sluice/http.hpp>
#include <sluice/net.hpp>
#include <sluice/task.hpp>

#include <cstdio>
#include <string>

namespace {

sluice::task<sluice::http::response> echo_target(sluice::http::request request) {
    sluice::http::response response;
    response.body = request.method + " " + request.url;
    co_return response;
}

sluice::task<bool> check() {
    sluice::http::server server(sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0)), echo_target);
    auto serving = sluice::spawn(server.serve());
    const std::string base = "http://127.0.0.1:" + std::to_string(server.local_endpoint().port());
    sluice::http::client client;
    bool ok = true;
    for (const char* path : {"/a", "/b", "/c"}) {
        const sluice::http::response r = co_await client.get(base + path);
        ok = ok && r.status == 200 && r.body == std::string("GET ") + path;
    }
    ok = ok && client.stats().connections_opened == 1;
    serving.cancel();
    (void)co_await serving.as_result();
    co_return ok;
}

}  // namespace

int main() {
    if (!sluice::run(check())) {
        std::fputs("FAILED: sluice::http gave a wrong answer\n", stderr);
        return 1;
    }
    std::puts("OK");
}

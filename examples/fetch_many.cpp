// fetch_many: many URLs, at most N at a time, with sluice::http (needs the optional sluice::http
// component: Boost's headers and OpenSSL). The aiohttp pattern it replaces:
//
//     async with aiohttp.ClientSession(timeout=ClientTimeout(total=10)) as session:
//         for next in limited_as_completed((fetch(session, u) for u in urls), 100):
//             status, url, size = await next
//
// Each line: "<status> <bytes> <final URL> (from <URL>)" in completion order, or "error <message>";
// redirects are followed, each request times out on its own.
//
// Usage: fetch_many [-m LIMIT] [-t TIMEOUT_MS] URL...   (defaults 100 and 10000)

#include <sluice/as_completed.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/generator.hpp>
#include <sluice/http.hpp>
#include <sluice/task.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

sluice::task<std::string> fetch(sluice::http::client& client, std::string url) {
    try {
        const sluice::http::response r = co_await client.get(url);
        co_return std::to_string(r.status) + " " + std::to_string(r.body.size()) + " " + r.url + " (from " + url + ")";
    } catch (const sluice::http::error& e) {
        co_return std::string("error ") + e.what();
    }
}

sluice::generator<sluice::task<std::string>> fetches(sluice::http::client& client, const std::vector<std::string>& urls) {
    for (const std::string& url : urls) co_yield fetch(client, url);
}

sluice::task<> fetch_all(std::vector<std::string> urls, int limit, std::chrono::milliseconds timeout) {
    sluice::http::client_options options;
    options.timeout = timeout;  // per request, redirects included
    sluice::http::client client(options);
    for (auto next : sluice::limited_as_completed(fetches(client, urls), limit)) {
        std::printf("%s\n", (co_await next).c_str());
    }
}

int main(int argc, char** argv) {
    int limit = 100;
    long timeout_ms = 10000;
    std::vector<std::string> urls;
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (std::strcmp(argv[i], "-m") == 0 && has_value) {
            limit = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "-t") == 0 && has_value) {
            timeout_ms = std::atol(argv[++i]);
        } else if (argv[i][0] == '-') {
            urls.clear();
            break;
        } else {
            urls.emplace_back(argv[i]);
        }
    }
    if (urls.empty() || limit < 1 || timeout_ms < 1) {
        std::fprintf(stderr, "usage: fetch_many [-m LIMIT >= 1] [-t TIMEOUT_MS >= 1] URL...\n");
        return 1;
    }
    sluice::run(fetch_all(std::move(urls), limit, std::chrono::milliseconds(timeout_ms)));
}

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
// Usage: fetch_many [-h] [-m N] [-t MS] URL...   (defaults 100 and 10000 ms)

#include <sluice/as_completed.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/generator.hpp>
#include <sluice/http.hpp>
#include <sluice/task.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/arguments.hpp"

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
    constexpr const char* help =
        "usage: fetch_many [-h] [-m N] [-t MS] URL...\n"
        "GETs every URL, at most N at once, following redirects; one line per URL as it completes.\n"
        "  URL               http:// or https:// URLs\n"
        "  -h, --help        show this help and exit\n"
        "  -m, --max_req N   at most N requests at once, 1..10000 (default 100)\n"
        "  -t, --timeout MS  each request's timeout in milliseconds, 1..3600000 (default 10000)\n";
    int limit = 100;
    long long timeout_ms = 10000;
    std::vector<std::string> urls;
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (line.is("-m", "--max_req")) {
                limit = static_cast<int>(line.integer(1, 10000));
            } else if (line.is("-t", "--timeout")) {
                timeout_ms = line.integer(1, 3600000);
            } else if (line.is_option()) {
                line.unrecognized();
            } else {
                urls.emplace_back(line.positional("URL"));
            }
        })) {
        return *exit_status;
    }
    if (urls.empty()) return args::usage_failure(argv, "the following arguments are required: URL");
    sluice::run(fetch_all(std::move(urls), limit, std::chrono::milliseconds(timeout_ms)));
}

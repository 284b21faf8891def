// crawl: port of Real Python's areq.py ("Async IO in Python: A Complete Walkthrough"):
//
//     HREF_RE = re.compile(r'href="(.*?)"')
//
//     async def fetch_html(url: str, session: ClientSession, **kwargs) -> str:
//         resp = await session.request(method="GET", url=url, **kwargs)
//         resp.raise_for_status()
//         logger.info("Got response [%s] for URL: %s", resp.status, url)
//         html = await resp.text()
//         return html
//
//     async def parse(url: str, session: ClientSession, **kwargs) -> set:
//         found = set()
//         try:
//             html = await fetch_html(url=url, session=session, **kwargs)
//         except (aiohttp.ClientError, aiohttp.http_exceptions.HttpProcessingError) as e:
//             logger.error("aiohttp exception for %s [%s]: %s", ...)
//             return found
//         else:
//             for link in HREF_RE.findall(html):
//                 abslink = urllib.parse.urljoin(url, link)
//                 found.add(abslink)
//             logger.info("Found %d links for %s", len(found), url)
//             return found
//
//     async def write_one(file: IO, url: str, **kwargs) -> None:
//         res = await parse(url=url, **kwargs)
//         if not res:
//             return None
//         async with aiofiles.open(file, "a") as f:
//             for p in res:
//                 await f.write(f"{url}\t{p}\n")
//             logger.info("Wrote results for source URL: %s", url)
//
//     async def bulk_crawl_and_write(file: IO, urls: set, **kwargs) -> None:
//         async with ClientSession() as session:
//             tasks = []
//             for url in urls:
//                 tasks.append(write_one(file=file, url=url, session=session, **kwargs))
//             await asyncio.gather(*tasks)
//
// Here: one sluice::http::client for all (aiohttp's ClientSession: keep-alive connections pooled
// per host, http:// and https://, redirects followed, links resolved against the final URL), each
// request bounded by -t (aiohttp's ClientTimeout), at most -m fetches in flight
// (limited_as_completed over a lazy generator of tasks), and the output file written through
// io_uring: the header with write_file, then each source's lines appended by one write_at on a
// file opened O_APPEND (one write per source, so concurrent sources never interleave lines).
// Failures (refused connection, HTTP status >= 400, timeout, malformed response) are logged and
// skipped.
//
// Usage: crawl [-m N] [-t MS] [-o OUTFILE] URLFILE     (defaults: -m 20, -t 10000, -o foundurls.txt)

#include <sluice/http.hpp>
#include <sluice/sluice.hpp>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "support/arguments.hpp"

namespace {

struct options {
    int max_req = 20;
    std::chrono::milliseconds timeout{10000};
    std::filesystem::path urlfile;
    std::filesystem::path outfile = "foundurls.txt";
};

/// areq.py's logging format: "%(asctime)s %(levelname)s:%(name)s: %(message)s", on stderr.
template <class... Args>
void log(const char* level, const char* format, Args... args) {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &local);
    std::fprintf(stderr, "%s %s:areq: ", stamp, level);
    std::fprintf(stderr, format, args...);
    std::fputc('\n', stderr);
}

struct http_status_error : std::runtime_error {
    unsigned status;
    http_status_error(unsigned code, const std::string& reason)
        : std::runtime_error(std::to_string(code) + " " + reason), status(code) {}
};

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

/// urllib.parse.urljoin for http(s):// bases (as the client reports them: scheme://authority/...):
/// absolute URLs kept, "//host/..", "/path", "?q", "#f" and relative paths (with "." and ".."
/// segments) resolved against `base`.
std::string urljoin(const std::string& base, std::string_view link) {
    if (link.find("://") != std::string_view::npos) return std::string(link);
    const std::size_t authority = base.find("://") + 3;
    const std::size_t target = std::min(base.find_first_of("/?#", authority), base.size());
    const std::string origin = base.substr(0, target);
    if (link.starts_with("//")) return base.substr(0, authority - 2) + std::string(link);
    if (link.empty()) return base;
    const std::string rest_of_base = target < base.size() && base[target] == '/' ? base.substr(target) : "/";
    const std::string path = rest_of_base.substr(0, rest_of_base.find_first_of("?#"));
    if (link.front() == '#') return base.substr(0, base.find('#')) + std::string(link);
    if (link.front() == '?') return origin + path + std::string(link);
    std::string merged = link.front() == '/' ? std::string(link) : path.substr(0, path.rfind('/') + 1) + std::string(link);
    // Remove dot segments (RFC 3986 5.2.4), on the path part only.
    const std::size_t query = merged.find_first_of("?#");
    const std::string rest = query == std::string::npos ? "" : merged.substr(query);
    const std::string in = merged.substr(0, query);
    std::vector<std::string> segments;
    std::size_t pos = 1;
    bool trailing_slash = false;
    while (pos <= in.size()) {
        const std::size_t next = std::min(in.find('/', pos), in.size());
        const std::string segment = in.substr(pos, next - pos);
        trailing_slash = false;
        if (segment == "..") {
            if (!segments.empty()) segments.pop_back();
            trailing_slash = true;
        } else if (segment == ".") {
            trailing_slash = true;
        } else {
            segments.push_back(segment);
        }
        pos = next + 1;
    }
    std::string out;
    for (const std::string& s : segments) out += "/" + s;
    if (out.empty() || trailing_slash) out += "/";
    return origin + out + rest;
}

/// The response to a GET of `url` (redirects followed); a status >= 400 throws.
sluice::task<sluice::http::response> fetch_html(sluice::http::client& session, const std::string& url) {
    sluice::http::response response = co_await session.get(url);
    if (response.status >= 400) throw http_status_error(response.status, response.reason);  // raise_for_status
    log("INFO", "Got response [%u] for URL: %s", response.status, url.c_str());
    co_return response;
}

sluice::task<std::set<std::string>> parse(sluice::http::client& session, const std::string& url) {
    std::set<std::string> found;
    sluice::http::response response;
    try {
        response = co_await fetch_html(session, url);
    } catch (const http_status_error& e) {
        log("ERROR", "HTTP error %s for URL: %s", e.what(), url.c_str());
        co_return found;
    } catch (const sluice::http::error& e) {
        const char* what = e.kind() == sluice::http::error_kind::connect   ? "Connection error"
                           : e.kind() == sluice::http::error_kind::timeout ? "Timeout"
                                                                           : "Bad response";
        log("ERROR", "%s for URL: %s: %s", what, url.c_str(), e.what());
        co_return found;
    }
    if (response.redirects != 0) log("INFO", "Redirected to %s from URL: %s", response.url.c_str(), url.c_str());
    const std::string& html = response.body;
    // HREF_RE.findall(html) with r'href="(.*?)"'
    constexpr std::string_view open = "href=\"";
    for (std::size_t pos = html.find(open); pos != std::string::npos; pos = html.find(open, pos)) {
        pos += open.size();
        const std::size_t end = html.find('"', pos);
        if (end == std::string::npos) break;
        const std::string_view link = std::string_view(html).substr(pos, end - pos);
        if (link.find('\n') == std::string_view::npos) found.insert(urljoin(response.url, link));  // '.' matches no newline
        pos = end + 1;
    }
    log("INFO", "Found %zu links for %s", found.size(), url.c_str());
    co_return found;
}

sluice::task<> write_one(sluice::http::client& session, const std::filesystem::path& file, std::string url) {
    const std::set<std::string> res = co_await parse(session, url);
    if (res.empty()) co_return;
    std::string lines;
    for (const std::string& p : res) lines += url + "\t" + p + "\n";
    sluice::file out = co_await sluice::file::open(file, O_WRONLY | O_APPEND | O_CREAT);
    co_await out.write_at(lines, 0);  // O_APPEND: the kernel writes at the end, whatever the offset
    co_await out.close();
    log("INFO", "Wrote results for source URL: %s", url.c_str());
}

sluice::generator<sluice::task<>> jobs(sluice::http::client& session, const std::filesystem::path& file,
                                       const std::vector<std::string>& urls) {
    for (const std::string& url : urls) co_yield write_one(session, file, url);
}

sluice::task<int> main_task(const options& opts) {
    const std::vector<std::byte> bytes = co_await sluice::read_file(opts.urlfile);
    std::vector<std::string> urls;
    std::set<std::string> seen;  // areq.py reads the URLs into a set
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::string_view line = trim(text.substr(0, end));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (!line.empty() && seen.emplace(line).second) urls.emplace_back(line);
    }
    co_await sluice::write_file(opts.outfile, std::string_view("source_url\tparsed_url\n"));
    sluice::http::client_options session_options;
    session_options.timeout = opts.timeout;  // each request as a whole, redirects included
    sluice::http::client session(session_options);
    for (auto next : sluice::limited_as_completed(jobs(session, opts.outfile, urls), opts.max_req)) {
        try {
            co_await next;
        } catch (const sluice::cancelled_error&) {
            throw;
        } catch (const std::exception& e) {
            log("ERROR", "Non-HTTP exception occurred: %s", e.what());
        }
    }
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    options opts;
    constexpr const char* help =
        "usage: crawl [-h] [-m N] [-t MS] [-o OUTFILE] URLFILE\n"
        "Fetches every URL of URLFILE, at most N at once, and writes the links found (areq.py).\n"
        "  URLFILE           http:// or https:// URLs, one per line\n"
        "  -h, --help        show this help and exit\n"
        "  -m, --max_req N   at most N URLs fetched at once, 1..10000 (default 20)\n"
        "  -t, --timeout MS  each request's timeout in milliseconds, redirects included,\n"
        "                    1..3600000 (default 10000)\n"
        "  -o, --output F    where the source<TAB>found lines go (default foundurls.txt)\n";
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (line.is("-m", "--max_req")) {
                opts.max_req = static_cast<int>(line.integer(1, 10000));
            } else if (line.is("-t", "--timeout")) {
                opts.timeout = std::chrono::milliseconds(line.integer(1, 3600000));
            } else if (line.is("-o", "--output")) {
                const std::string_view output = line.value();
                if (output.empty()) line.bad_value(output, "a file name");
                opts.outfile = output;
            } else if (line.is_option() || !opts.urlfile.empty()) {
                line.unrecognized();
            } else {
                opts.urlfile = line.positional("URLFILE");
            }
        })) {
        return *exit_status;
    }
    if (opts.urlfile.empty()) return args::usage_failure(argv, "the following argument is required: URLFILE");
    try {
        return sluice::run(main_task(opts));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "crawl: %s\n", e.what());
        return 1;
    }
}

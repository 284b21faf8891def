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
// Here: http:// only (examples/support/http.hpp), at most -m fetches in flight
// (limited_as_completed over a lazy generator of tasks), and the output file written through
// io_uring: the header with write_file, then each source's lines appended by one write_at on a
// file opened O_APPEND (one write per source, so concurrent sources never interleave lines).
// Failures (refused connection, HTTP status >= 400, malformed response) are logged and skipped.
//
// Usage: crawl [-m N] [-o OUTFILE] URLFILE     (defaults: -m 20, -o foundurls.txt)

#include <sluice/sluice.hpp>

#include "support/http.hpp"

#include <fcntl.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "support/arguments.hpp"

namespace {

struct options {
    int max_req = 20;
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
    int status;
    http_status_error(int code, const std::string& reason)
        : std::runtime_error(std::to_string(code) + " " + reason), status(code) {}
};

/// urllib.parse.urljoin for http:// bases: absolute URLs kept, "//host/..", "/path", "?q", "#f"
/// and relative paths (with "." and ".." segments) resolved against `base`.
std::string urljoin(const std::string& base, std::string_view link) {
    if (link.find("://") != std::string_view::npos) return std::string(link);
    const http::url b = http::parse_url(base);
    const std::string origin = "http://" + std::string(std::string_view(base).substr(7, base.find('/', 7) - 7));
    if (link.starts_with("//")) return "http:" + std::string(link);
    if (link.empty()) return base;
    const std::string path = b.target.substr(0, b.target.find_first_of("?#"));
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

sluice::task<std::string> fetch_html(const std::string& url) {
    const http::url where = http::parse_url(url);
    sluice::buffered_stream stream(co_await sluice::tcp_stream::connect(where.host, where.port));
    const std::string host = where.port == 80 ? where.host : where.host + ":" + std::to_string(where.port);
    http::message response = co_await http::get(stream, host, where.target);
    if (response.status >= 400) throw http_status_error(response.status, response.reason);  // raise_for_status
    log("INFO", "Got response [%d] for URL: %s", response.status, url.c_str());
    co_return std::move(response.body);
}

sluice::task<std::set<std::string>> parse(const std::string& url) {
    std::set<std::string> found;
    std::string html;
    try {
        html = co_await fetch_html(url);
    } catch (const http_status_error& e) {
        log("ERROR", "HTTP error %s for URL: %s", e.what(), url.c_str());
        co_return found;
    } catch (const std::system_error& e) {
        log("ERROR", "Connection error for URL: %s: %s", url.c_str(), e.what());
        co_return found;
    } catch (const http::error& e) {
        log("ERROR", "Bad response for URL: %s: %s", url.c_str(), e.what());
        co_return found;
    }
    // HREF_RE.findall(html) with r'href="(.*?)"'
    constexpr std::string_view open = "href=\"";
    for (std::size_t pos = html.find(open); pos != std::string::npos; pos = html.find(open, pos)) {
        pos += open.size();
        const std::size_t end = html.find('"', pos);
        if (end == std::string::npos) break;
        const std::string_view link = std::string_view(html).substr(pos, end - pos);
        if (link.find('\n') == std::string_view::npos) {  // '.' does not match a newline
            try {
                found.insert(urljoin(url, link));
            } catch (const http::error&) {
                log("ERROR", "Error parsing URL: %.*s", static_cast<int>(link.size()), link.data());
            }
        }
        pos = end + 1;
    }
    log("INFO", "Found %zu links for %s", found.size(), url.c_str());
    co_return found;
}

sluice::task<> write_one(const std::filesystem::path& file, std::string url) {
    const std::set<std::string> res = co_await parse(url);
    if (res.empty()) co_return;
    std::string lines;
    for (const std::string& p : res) lines += url + "\t" + p + "\n";
    sluice::file out = co_await sluice::file::open(file, O_WRONLY | O_APPEND | O_CREAT);
    co_await out.write_at(lines, 0);  // O_APPEND: the kernel writes at the end, whatever the offset
    co_await out.close();
    log("INFO", "Wrote results for source URL: %s", url.c_str());
}

sluice::generator<sluice::task<>> jobs(const std::filesystem::path& file, const std::vector<std::string>& urls) {
    for (const std::string& url : urls) co_yield write_one(file, url);
}

sluice::task<int> main_task(const options& opts) {
    const std::vector<std::byte> bytes = co_await sluice::read_file(opts.urlfile);
    std::vector<std::string> urls;
    std::set<std::string> seen;  // areq.py reads the URLs into a set
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::string_view line = http::trim(text.substr(0, end));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (!line.empty() && seen.emplace(line).second) urls.emplace_back(line);
    }
    co_await sluice::write_file(opts.outfile, std::string_view("source_url\tparsed_url\n"));
    for (auto next : sluice::limited_as_completed(jobs(opts.outfile, urls), opts.max_req)) {
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
        "usage: crawl [-h] [-m N] [-o OUTFILE] URLFILE\n"
        "Fetches every URL of URLFILE, at most N at once, and writes the links found (areq.py).\n"
        "  URLFILE           http:// URLs, one per line\n"
        "  -h, --help        show this help and exit\n"
        "  -m, --max_req N   at most N URLs fetched at once, 1..10000 (default 20)\n"
        "  -o, --output F    where the source<TAB>found lines go (default foundurls.txt)\n";
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (line.is("-m", "--max_req")) {
                opts.max_req = static_cast<int>(line.integer(1, 10000));
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

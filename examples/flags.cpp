// flags: port of Fluent Python's flags2 downloader (flags2_asyncio.py + flags2_common.py), with the
// book's test servers built in. The heart of the original:
//
//     async def download_many(cc_list, base_url, verbose, concur_req):
//         semaphore = asyncio.Semaphore(concur_req)
//         async with httpx.AsyncClient() as client:
//             to_do = [download_one(client, cc, base_url, semaphore, verbose)
//                      for cc in sorted(cc_list)]
//             to_do_iter = asyncio.as_completed(to_do)
//             if not verbose:
//                 to_do_iter = tqdm.tqdm(to_do_iter, total=len(cc_list))
//             error = None
//             for coro in to_do_iter:
//                 try:
//                     status = await coro
//                 except httpx.HTTPStatusError as exc:
//                     error = f'HTTP error {exc.response.status_code} - {exc.response.reason_phrase}'
//                 except httpx.RequestError as exc:
//                     error = f'{exc} {type(exc)}'.strip()
//                 ...
//                 counter[status] += 1
//         return counter
//
// Here the server is a task on the same event loop (127.0.0.1, port 0 unless --port), serving a
// generated "flag" (a tiny GIF-like blob naming its code) for every two-letter code AA..ZZ at
// /flags/<cc>/<cc>.gif. Server modes, like the book's servers:
//   plain   every flag is served (the LOCAL server)
//   delay   each request waits a random 0.1-0.5 s (times --scale; seeded by --seed)
//   error   a fixed set of codes fail: FNV-1a-32 of the two ASCII letters, mod 100: 0-9 -> 404 Not
//           Found, 10-19 -> 500 Internal Server Error (so the counts are exact); plus the delay
// Server and client are sluice::http's (the server through its serve_connection, under flags' own
// accept loop for the graceful shutdown below; the client keeps its connections alive in a pool).
// The client downloads with at most -m requests in flight (a semaphore) and takes results through
// as_completed; each flag is saved with sluice::write_file into -d DIR, or else into a temporary
// directory that flags creates and removes at exit (it says which at the start).
// SIGINT/SIGTERM (Ctrl-C) stops gracefully: the downloads in flight are cancelled (and awaited), the
// report shows what was done, the server stops accepting, gives the connections it is still
// serving --grace seconds, cancels the rest, and flags exits 0.
//
// Usage: flags [-h] [-m N] [-l N] [-s plain|delay|error] [-v] [-a | -e] [-d DIR] [--port N]
//              [--scale X] [--seed N] [--grace S] [--check] [CC ...]

#include <sluice/http.hpp>
#include <sluice/sluice.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "support/arguments.hpp"
#include "support/open_connections.hpp"

namespace {

constexpr std::array<std::string_view, 20> pop20 = {"CN", "IN", "US", "ID", "BR", "PK", "NG", "BD", "RU", "JP",
                                                    "MX", "PH", "VN", "ET", "EG", "DE", "IR", "TR", "CD", "FR"};

enum class mode { plain, delay, error };
enum class status { ok, not_found, error };

struct options {
    int max_req = 5;  // flags2_asyncio.py's DEFAULT_CONCUR_REQ
    std::size_t limit = 0;  // 0: no limit
    mode server = mode::plain;
    bool verbose = false;
    bool all = false;
    bool every = false;
    bool check = false;
    std::filesystem::path dir;
    std::uint16_t port = 0;
    long long grace = 5;  // seconds the server's open connections get on SIGINT/SIGTERM
    double scale = 1.0;
    unsigned long long seed = 444;
    std::vector<std::string> codes;
};

bool is_code(std::string_view cc) {
    return cc.size() == 2 && std::all_of(cc.begin(), cc.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::uint32_t fnv1a(std::string_view text) {
    std::uint32_t h = 2166136261u;
    for (const char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619u;
    }
    return h;
}

/// What the server answers for /flags/<cc>/<cc>.gif in `m`: 200, 404 or 500.
int planned_status(mode m, std::string_view cc) {
    if (!is_code(cc)) return 404;
    if (m != mode::error) return 200;
    const std::uint32_t bucket = fnv1a(cc) % 100;
    if (bucket < 10) return 404;
    if (bucket < 20) return 500;
    return 200;
}

/// The flag of `cc`: a GIF header, then the code and a few bytes derived from it.
std::string flag_bytes(std::string_view cc) {
    std::string out = "GIF89a";
    out += "flag of ";
    out += cc;
    out += '\n';
    std::uint32_t h = fnv1a(cc);
    for (int i = 0; i < 64; ++i) {
        h = h * 1103515245u + 12345u;
        out += static_cast<char>(h >> 24);
    }
    out += ';';
    return out;
}

// ---- the server -------------------------------------------------------------------------------

struct server_state {
    mode m;
    double scale;
    std::mt19937_64 rng;
    std::chrono::seconds grace{5};
    sluice::event stop;  // set: stop accepting, then shut down gracefully
};

/// The answer to one request: the flag of /flags/<cc>/<cc>.gif, or a 404 or 500 as planned.
sluice::task<sluice::http::response> answer(sluice::http::request request, server_state& state) {
    if (state.m != mode::plain) {
        std::uniform_real_distribution<double> latency(0.1, 0.5);
        co_await sluice::sleep_for(std::chrono::duration<double>(latency(state.rng) * state.scale));
    }
    const std::string& target = request.url;
    std::string cc;
    if (target.size() == 16 && target.starts_with("/flags/") && target.substr(9, 1) == "/" &&
        target.substr(10, 2) == target.substr(7, 2) && target.ends_with(".gif")) {
        cc = target.substr(7, 2);
    }
    sluice::http::response response;
    response.status = static_cast<unsigned>(planned_status(state.m, cc));
    if (response.status == 200) {
        response.fields = {{"Content-Type", "image/gif"}};
        response.body = flag_bytes(cc);
    } else {
        response.fields = {{"Content-Type", "text/plain"}};
        response.body = response.status == 404 ? "404 Not Found\n" : "500 Internal Server Error\n";
    }
    co_return response;
}

/// Serves until `state.stop` is set, then stops accepting, gives the open connections
/// `state.grace` to finish, and cancels the rest.
sluice::task<> serve(sluice::tcp_listener& listener, server_state& state) {
    sluice::http::server server([&state](sluice::http::request request) { return answer(std::move(request), state); });
    support::open_connections open;
    co_await sluice::task_group::scope([&](sluice::task_group& connections) -> sluice::task<> {
        auto accept_loop = [&]() -> sluice::task<> {
            for (;;) connections.spawn(open.serve(server.serve_connection(co_await listener.accept())));
        };
        (void)co_await sluice::race(accept_loop(), state.stop.wait());
        if (!co_await sluice::move_on_after(state.grace, open.all_closed())) {
            std::fprintf(stderr, "server: grace period over, closing %lld connection(s)\n", open.count());
            connections.cancel();
        }
    });
}

// ---- the client -------------------------------------------------------------------------------

struct download_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

sluice::task<status> download_one(sluice::http::client& client, const std::string& base_url, std::string cc,
                                  sluice::semaphore& semaphore, const std::filesystem::path& dir, bool verbose) {
    status result = status::ok;
    try {
        sluice::http::response response;
        {
            auto permit = co_await semaphore.acquire();  // at most -m requests in flight
            response = co_await client.get(base_url + "/" + cc + "/" + cc + ".gif");
        }
        if (response.status == 404) {
            result = status::not_found;
        } else if (response.status != 200) {
            throw download_error("HTTP error " + std::to_string(response.status) + " - " + response.reason);
        } else {
            co_await sluice::write_file(dir / (cc + ".gif"), response.body);
        }
    } catch (const sluice::cancelled_error&) {
        throw;
    } catch (const std::exception& e) {
        throw download_error(cc + " error: " + e.what());  // flags2: print(f'{cc} error: {error}')
    }
    if (verbose) std::printf("%s %s\n", cc.c_str(), result == status::ok ? "OK" : "not found");
    co_return result;
}

void progress(std::size_t done, std::size_t total) {
    constexpr int width = 40;
    const int filled = total == 0 ? width : static_cast<int>(width * done / total);
    std::printf("\r%3zu%%|%s%s| %zu/%zu", total == 0 ? 100 : 100 * done / total, std::string(filled, '#').c_str(),
                std::string(width - filled, ' ').c_str(), done, total);
    std::fflush(stdout);
}

// The listener and the server's state live in main(), so they outlive every coroutine that uses
// them (the server task ends before this one returns).
sluice::task<int> main_task(const options& opts, const std::vector<std::string>& cc_list,
                            sluice::tcp_listener& listener, server_state& state) {
    const char* labels[] = {"LOCAL", "DELAY", "ERROR"};
    const sluice::endpoint server = listener.local_endpoint();
    auto server_task = sluice::spawn(serve(listener, state));

    // flags2_common.initial_report
    const std::string base_url = "http://" + server.to_string() + "/flags";
    std::printf("%s site: %s\n", labels[static_cast<int>(opts.server)], base_url.c_str());
    if (opts.server == mode::error) {
        std::size_t planned_404 = 0;
        std::size_t planned_500 = 0;
        for (const std::string& cc : cc_list) {
            const int code = planned_status(opts.server, cc);
            planned_404 += code == 404 ? 1 : 0;
            planned_500 += code == 500 ? 1 : 0;
        }
        std::printf("Server plan: %zu of these codes answer 404, %zu answer 500.\n", planned_404, planned_500);
    }
    std::printf("Searching for %zu flag%s: ", cc_list.size(), cc_list.size() == 1 ? "" : "s");
    if (cc_list.size() <= 10) {
        for (std::size_t i = 0; i < cc_list.size(); ++i) std::printf("%s%s", i ? " " : "", cc_list[i].c_str());
        std::printf("\n");
    } else {
        std::printf("from %s to %s\n", cc_list.front().c_str(), cc_list.back().c_str());
    }
    const std::size_t concurrency = std::min<std::size_t>(opts.max_req, cc_list.size());
    std::printf("%zu concurrent connection%s will be used.\n", concurrency, concurrency == 1 ? "" : "s");
    std::fflush(stdout);

    const auto start = std::chrono::steady_clock::now();
    sluice::semaphore semaphore(opts.max_req);
    sluice::http::client_options client_options;
    client_options.max_connections_per_host = static_cast<std::size_t>(opts.max_req);
    sluice::http::client client(client_options);
    std::vector<sluice::task<status>> to_do;
    to_do.reserve(cc_list.size());
    for (const std::string& cc : cc_list) {
        to_do.push_back(download_one(client, base_url, cc, semaphore, opts.dir, opts.verbose));
    }

    const bool bar = !opts.verbose && ::isatty(1) == 1;
    std::size_t counter[3] = {0, 0, 0};
    std::size_t done = 0;
    if (bar) progress(0, cc_list.size());
    // The downloads race a signal: SIGINT/SIGTERM cancels those in flight (as_completed's consumer
    // stops: they are cancelled and awaited) and the report shows what was done.
    auto download_all = [&]() -> sluice::task<> {
        for (auto coro : sluice::as_completed(std::move(to_do))) {
            status result = status::error;
            try {
                result = co_await coro;
            } catch (const sluice::cancelled_error&) {
                throw;
            } catch (const std::exception& e) {
                if (opts.verbose) std::printf("%s\n", e.what());
            }
            ++counter[static_cast<int>(result)];
            ++done;
            if (bar) progress(done, cc_list.size());
        }
    };
    const auto first = co_await sluice::race(download_all(), sluice::signal(SIGINT, SIGTERM));
    const bool interrupted = first.index() == 1;
    if (bar) std::printf("\n");
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (interrupted) {
        std::printf("Interrupted by %s: %zu of %zu done, the downloads in flight were cancelled.\n",
                    std::get<1>(first) == SIGINT ? "SIGINT" : "SIGTERM", done, cc_list.size());
    }

    int rc = 0;
    if (opts.check && !interrupted) {
        // Read every saved flag back (through io_uring) and compare it with what the server sends.
        std::size_t checked = 0;
        std::size_t bad = 0;
        for (const std::string& cc : cc_list) {
            if (planned_status(opts.server, cc) != 200) continue;
            const std::string expected = flag_bytes(cc);
            std::vector<std::byte> got;
            try {
                got = co_await sluice::read_file(opts.dir / (cc + ".gif"));
            } catch (const std::system_error& e) {
                if (bad < 5) std::fprintf(stderr, "check: %s: %s\n", cc.c_str(), e.what());
            }
            ++checked;
            if (got.size() != expected.size() ||
                !std::equal(got.begin(), got.end(), expected.begin(),
                            [](std::byte a, char b) { return a == static_cast<std::byte>(b); })) {
                if (bad < 5) std::fprintf(stderr, "check: %s.gif differs from what the server served\n", cc.c_str());
                ++bad;
            }
        }
        std::printf("Checked %zu saved file%s: %s.\n", checked, checked == 1 ? "" : "s",
                    bad == 0 ? "all match" : "MISMATCH");
        if (bad != 0) rc = 1;
    }

    // flags2_common.final_report
    std::printf("%zu flag%s downloaded.\n", counter[0], counter[0] == 1 ? "" : "s");
    std::printf("%zu not found.\n", counter[1]);
    std::printf("%zu error%s.\n", counter[2], counter[2] == 1 ? "" : "s");
    std::printf("Elapsed time: %.2fs\n", elapsed.count());
    client.close_idle();  // the kept-alive connections: the server's side of them ends at once
    state.stop.set();     // the server stops accepting and shuts down gracefully
    co_await server_task.as_result();  // its accept is over before the listener closes
    co_return rc;
}

constexpr const char* help =
    "usage: flags [-h] [-m N] [-l N] [-s plain|delay|error] [-v] [-a | -e] [-d DIR] [--port N]\n"
    "             [--scale X] [--seed N] [--grace S] [--check] [CC ...]\n"
    "Downloads flags from an in-process HTTP server, at most N at a time (Fluent Python's flags2).\n"
    "  CC                 country code AA..ZZ, or one letter A..Z for all 26 codes it starts\n"
    "                     (default, and -a/--all: the 20 most populous countries)\n"
    "  -h, --help         show this help and exit\n"
    "  -e, --every        every code AA..ZZ (676)\n"
    "  -l, --limit N      only the first N codes (N >= 1)\n"
    "  -m, --max_req N    at most N concurrent requests, 1..1000 (default 5)\n"
    "  -s, --server MODE  plain, delay (0.1-0.5 s per request) or error (fixed 404s and 500s)\n"
    "  -v, --verbose      one line per code instead of a progress bar\n"
    "  -d, --dir DIR      where to save the flags (default: a new temporary directory, removed at exit)\n"
    "  --port N           server port (default 0: any free port)\n"
    "  --scale X          multiply the server's delays by X >= 0 (default 1)\n"
    "  --seed N           seed of the server's delays (default 444)\n"
    "  --grace S          on SIGINT/SIGTERM, seconds the server's open connections may still run,\n"
    "                     0..3600 (default 5)\n"
    "  --check            read the saved flags back and compare them with the served bytes\n";

/// One word of the command line into `opts` (see examples/support/arguments.hpp).
void parse_word(args::command_line& line, options& opts) {
    if (line.is("-m", "--max_req")) {
        opts.max_req = static_cast<int>(line.integer(1, 1000));
    } else if (line.is("-l", "--limit")) {
        opts.limit = static_cast<std::size_t>(line.integer(1, 1000000));
    } else if (line.is("-s", "--server")) {
        // flags2 spells the modes LOCAL, DELAY, ERROR: accepted too.
        constexpr mode modes[] = {mode::plain, mode::delay, mode::error, mode::plain,
                                  mode::plain, mode::delay, mode::error};
        opts.server = modes[line.choice("plain|delay|error|local|LOCAL|DELAY|ERROR")];
    } else if (line.is("-v", "--verbose")) {
        opts.verbose = true;
    } else if (line.is("-a", "--all")) {
        if (opts.every) line.not_allowed("not allowed with argument -e/--every");
        opts.all = true;
    } else if (line.is("-e", "--every")) {
        if (opts.all) line.not_allowed("not allowed with argument -a/--all");
        opts.every = true;
    } else if (line.is("", "--check")) {
        opts.check = true;
    } else if (line.is("-d", "--dir")) {
        const std::string_view dir = line.value();
        if (dir.empty()) line.bad_value(dir, "a directory");
        opts.dir = dir;
    } else if (line.is("", "--port")) {
        opts.port = static_cast<std::uint16_t>(line.integer(0, 65535));
    } else if (line.is("", "--grace")) {
        opts.grace = line.integer(0, 3600);
    } else if (line.is("", "--seed")) {
        opts.seed = static_cast<unsigned long long>(line.integer(0, 0x7fffffffffffffffLL));
    } else if (line.is("", "--scale")) {
        opts.scale = line.scale();
    } else if (line.is_option()) {
        line.unrecognized();
    } else {
        std::string cc(line.positional("CC"));
        for (char& c : cc) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const bool letters = std::all_of(cc.begin(), cc.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
        if (cc.empty() || cc.size() > 2 || !letters) {
            line.bad_value(line.word(), "a country code AA..ZZ or a letter A..Z");
        }
        opts.codes.push_back(cc);
    }
}

// flags2_common.expand_cc_args
std::vector<std::string> expand_codes(const options& opts) {
    std::set<std::string> codes;
    if (opts.every) {
        for (char a = 'A'; a <= 'Z'; ++a)
            for (char b = 'A'; b <= 'Z'; ++b) codes.insert(std::string{a, b});
    } else if (opts.all || opts.codes.empty()) {
        codes.insert(pop20.begin(), pop20.end());
    } else {
        for (const std::string& cc : opts.codes) {
            if (cc.size() == 1) {
                for (char b = 'A'; b <= 'Z'; ++b) codes.insert(cc + b);
            } else {
                codes.insert(cc);
            }
        }
    }
    std::vector<std::string> out(codes.begin(), codes.end());
    if (opts.limit != 0 && out.size() > opts.limit) out.resize(opts.limit);
    return out;
}

/// A directory flags made for itself (no -d): removed with everything in it when flags ends, so
/// runs leave nothing behind in /tmp.
class own_temporary_directory {
public:
    own_temporary_directory() = default;
    own_temporary_directory(const own_temporary_directory&) = delete;
    own_temporary_directory& operator=(const own_temporary_directory&) = delete;
    ~own_temporary_directory() {
        std::error_code ignored;
        if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
    }
    /// Creates $TMPDIR/sluice-flags-XXXXXX (mkdtemp(3)) and yields it.
    const std::filesystem::path& create() {
        std::string pattern = (std::filesystem::temp_directory_path() / "sluice-flags-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::system_error(errno, std::system_category(), "mkdtemp " + pattern);
        }
        path_ = pattern;
        return path_;
    }

private:
    std::filesystem::path path_;
};

}  // namespace

int main(int argc, char** argv) {
    options opts;
    const auto each = [&](args::command_line& line) { parse_word(line, opts); };
    if (const auto exit_status = args::parse(argc, argv, help, each)) return *exit_status;
    if ((opts.all || opts.every) && !opts.codes.empty()) {
        return args::usage_failure(argv, "argument CC: not allowed with argument -a/--all or -e/--every");
    }
    const std::vector<std::string> cc_list = expand_codes(opts);
    try {
        own_temporary_directory temporary;
        if (opts.dir.empty()) {
            opts.dir = temporary.create();
            std::printf("Saving to %s (a temporary directory, removed at exit; -d DIR keeps the files)\n",
                        opts.dir.c_str());
        } else {
            std::filesystem::create_directories(opts.dir);
            std::printf("Saving to %s\n", opts.dir.c_str());
        }
        server_state state{opts.server, opts.scale, std::mt19937_64(opts.seed), std::chrono::seconds(opts.grace), {}};
        sluice::tcp_listener listener = sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", opts.port), 1024);
        return sluice::run(main_task(opts, cc_list, listener, state));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "flags: %s\n", e.what());
        return 1;
    }
}

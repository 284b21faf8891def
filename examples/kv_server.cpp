// kv_server: a small in-memory key-value server speaking RESP2, the Redis protocol, so that the
// real clients of Debian's redis-tools (redis-cli, redis-benchmark) can drive it.
//
// Commands: PING [msg], ECHO msg, GET key, SET key value [EX seconds | PX milliseconds], DEL key...,
// EXISTS key..., INCR key, MGET key..., CONFIG GET parameter (answers "save" and "appendonly", as
// redis-benchmark asks at start), COMMAND (an empty list). Requests come as RESP arrays of bulk
// strings or as inline lines ("PING\r\n"); pipelined requests are answered in order, all replies to
// what one read brought in going out in one send.
//
// One task per client on one thread, over `buffered_stream`: the parser works on the bytes already
// buffered (`buffered()`, `consume(n)`) and reads more (`fill()`) only when a request is incomplete,
// so a pipelined batch is parsed without copying. Memory per connection is bounded: a request
// larger than --max-request bytes gets "-ERR Protocol error: ..." and the connection is closed,
// as is a malformed request; the server stays up. Keys with a deadline (EX/PX) expire when next
// touched (no background sweep: an expired key nobody reads keeps its memory until then).
//
// Several cores (--cores N): N loops on N threads (sluice::run_on_cores), each accepting on its own
// SO_REUSEPORT listener on the same port and doing its clients' socket I/O. The store stays one,
// owned by core 0's loop, so a GET sees a SET made through any connection on any core, with no lock:
// a connection on another core hands each batch of buffered requests (a view of its read buffer,
// no copy) to core 0 by message (`core_loop(0).post`), core 0 parses and runs them into the
// connection's reply buffer and posts the completion back, and the connection then sends the
// replies. (Sharding the keys over the cores would spread the store's work too, at the cost of
// splitting multi-key commands (MGET, DEL, EXISTS) across shards; not done here.)
//
// Usage: kv_server [-h] [--port P] [--host ADDRESS] [--max-request BYTES] [--cores N] (see `help`
// below; a bad argument exits 2 with one line, examples/support/arguments.hpp). The first line
// printed is "Serving on ADDRESS:PORT".

#include <sluice/sluice.hpp>

#include "support/core_listeners.hpp"
#include "support/listen_arguments.hpp"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

// --- the store ----------------------------------------------------------------------------------

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
};

struct entry {
    std::string value;
    std::optional<clock_type::time_point> expires;
};

/// The keys, shared by every connection (one thread: no lock). Lookups take string_views into the
/// read buffer (heterogeneous lookup), so a GET copies nothing.
class store {
public:
    /// The live entry of `key`, or null (an expired one is erased on the way).
    entry* find(std::string_view key) {
        const auto it = map_.find(key);
        if (it == map_.end()) return nullptr;
        if (it->second.expires && *it->second.expires <= clock_type::now()) {
            map_.erase(it);
            return nullptr;
        }
        return &it->second;
    }
    entry& set(std::string_view key, std::string_view value, std::optional<clock_type::time_point> expires) {
        auto it = map_.find(key);
        if (it == map_.end()) it = map_.emplace(std::string(key), entry{}).first;
        it->second.value.assign(value);
        it->second.expires = expires;
        return it->second;
    }
    bool erase(std::string_view key) {
        if (find(key) == nullptr) return false;
        map_.erase(map_.find(key));
        return true;
    }

private:
    std::unordered_map<std::string, entry, string_hash, std::equal_to<>> map_;
};

// --- RESP2 replies ---------------------------------------------------------------------------------

void reply_simple(std::string& out, std::string_view text) { out.append("+").append(text).append("\r\n"); }
void reply_error(std::string& out, std::string_view text) { out.append("-").append(text).append("\r\n"); }
void reply_integer(std::string& out, long long value) { out.append(":").append(std::to_string(value)).append("\r\n"); }
void reply_null(std::string& out) { out.append("$-1\r\n"); }
void reply_array(std::string& out, std::size_t size) { out.append("*").append(std::to_string(size)).append("\r\n"); }
void reply_bulk(std::string& out, std::string_view bytes) {
    out.append("$").append(std::to_string(bytes.size())).append("\r\n").append(bytes).append("\r\n");
}

// --- RESP2 requests ---------------------------------------------------------------------------------

/// What parse_request found at the front of the buffer.
struct parsed {
    enum class status { complete, incomplete, malformed } state = status::incomplete;
    std::size_t size = 0;      // bytes of the whole request (complete)
    const char* why = "";      // what is wrong (malformed)
};

/// A decimal integer ending at "\r\n" from `at`; the position after the "\r\n", or npos if the
/// line is not complete yet. `ok` false if what is there is not an integer.
std::size_t parse_length(std::string_view in, std::size_t at, long long& value, bool& ok) {
    const std::size_t end = in.find("\r\n", at);
    if (end == std::string_view::npos) {
        ok = in.size() - at < 32;  // a length line longer than that is not one
        return end;
    }
    const auto [stop, ec] = std::from_chars(in.data() + at, in.data() + end, value);
    ok = ec == std::errc() && stop == in.data() + end;
    return end + 2;
}

/// Parses one request from the front of `in` into `args` (views into `in`). A multibulk request
/// "*N\r\n$len\r\nbytes\r\n..." or an inline one "WORD WORD\r\n". Lengths past `max_size` are
/// malformed at once (no waiting for bytes that will not be accepted anyway).
parsed parse_request(std::string_view in, std::size_t max_size, std::vector<std::string_view>& args) {
    args.clear();
    if (in.empty()) return {};
    if (in.front() != '*') {  // inline command
        const std::size_t end = in.find('\n');
        if (end == std::string_view::npos) return {};
        std::string_view line = in.substr(0, end);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        for (std::size_t at = 0; at < line.size();) {
            const std::size_t word_end = std::min(line.find(' ', at), line.size());
            if (word_end > at) args.push_back(line.substr(at, word_end - at));
            at = word_end + 1;
        }
        return {parsed::status::complete, end + 1};
    }
    long long count = 0;
    bool ok = true;
    std::size_t at = parse_length(in, 1, count, ok);
    if (!ok) return {parsed::status::malformed, 0, "invalid multibulk length"};
    if (at == std::string_view::npos) return {};
    if (count < 0 || static_cast<unsigned long long>(count) > max_size / 4) {
        return {parsed::status::malformed, 0, "invalid multibulk length"};
    }
    for (long long i = 0; i < count; ++i) {
        if (at >= in.size()) return {};
        if (in[at] != '$') return {parsed::status::malformed, 0, "expected '$'"};
        long long length = 0;
        at = parse_length(in, at + 1, length, ok);
        if (!ok) return {parsed::status::malformed, 0, "invalid bulk length"};
        if (at == std::string_view::npos) return {};
        if (length < 0 || static_cast<unsigned long long>(length) > max_size) {
            return {parsed::status::malformed, 0, "invalid bulk length"};
        }
        const auto size = static_cast<std::size_t>(length);
        if (in.size() - at < size + 2) return {};
        if (in.substr(at + size, 2) != "\r\n") return {parsed::status::malformed, 0, "bulk string not followed by CRLF"};
        args.push_back(in.substr(at, size));
        at += size + 2;
    }
    return {parsed::status::complete, at};
}

// --- commands -----------------------------------------------------------------------------------

/// Whether `a` is `upper` (given in upper case) ignoring the case of ASCII letters.
bool equals_nocase(std::string_view a, std::string_view upper) {
    if (a.size() != upper.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 32) : a[i];
        if (x != upper[i]) return false;
    }
    return true;
}

std::optional<long long> to_integer(std::string_view text) {
    long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

void wrong_arity(std::string& out, std::string_view command) {
    std::string text = "ERR wrong number of arguments for '";
    for (char c : command) text += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    reply_error(out, text + "' command");
}

/// SET key value [EX seconds | PX milliseconds].
void command_set(store& keys, const std::vector<std::string_view>& args, std::string& out) {
    std::optional<clock_type::time_point> expires;
    for (std::size_t i = 3; i < args.size(); i += 2) {
        const bool ex = equals_nocase(args[i], "EX");
        if ((!ex && !equals_nocase(args[i], "PX")) || i + 1 >= args.size() || expires) {
            return reply_error(out, "ERR syntax error");
        }
        const auto amount = to_integer(args[i + 1]);
        if (!amount || *amount <= 0 || *amount > (ex ? 1'000'000'000'000LL : 1'000'000'000'000'000LL)) {
            return reply_error(out, "ERR invalid expire time in 'set' command");
        }
        expires = clock_type::now() + (ex ? std::chrono::milliseconds(*amount * 1000) : std::chrono::milliseconds(*amount));
    }
    keys.set(args[1], args[2], expires);
    reply_simple(out, "OK");
}

void command_incr(store& keys, std::string_view key, std::string& out) {
    entry* found = keys.find(key);
    long long value = 0;
    if (found != nullptr) {
        const auto current = to_integer(found->value);
        if (!current || *current == INT64_MAX) return reply_error(out, "ERR value is not an integer or out of range");
        value = *current;
    }
    ++value;
    if (found != nullptr) {
        found->value = std::to_string(value);  // INCR keeps the key's deadline, as Redis does
    } else {
        keys.set(key, std::to_string(value), std::nullopt);
    }
    reply_integer(out, value);
}

/// Runs one request, appending its reply to `out`.
void execute(store& keys, const std::vector<std::string_view>& args, std::string& out) {
    if (args.empty()) return;  // an empty inline line: Redis answers nothing
    const std::string_view name = args[0];
    const std::size_t n = args.size();
    if (equals_nocase(name, "GET")) {
        if (n != 2) return wrong_arity(out, name);
        const entry* found = keys.find(args[1]);
        return found != nullptr ? reply_bulk(out, found->value) : reply_null(out);
    }
    if (equals_nocase(name, "SET")) {
        if (n < 3) return wrong_arity(out, name);
        return command_set(keys, args, out);
    }
    if (equals_nocase(name, "PING")) {
        if (n > 2) return wrong_arity(out, name);
        return n == 2 ? reply_bulk(out, args[1]) : reply_simple(out, "PONG");
    }
    if (equals_nocase(name, "INCR")) {
        if (n != 2) return wrong_arity(out, name);
        return command_incr(keys, args[1], out);
    }
    if (equals_nocase(name, "ECHO")) {
        if (n != 2) return wrong_arity(out, name);
        return reply_bulk(out, args[1]);
    }
    if (equals_nocase(name, "DEL") || equals_nocase(name, "EXISTS")) {
        if (n < 2) return wrong_arity(out, name);
        const bool del = equals_nocase(name, "DEL");
        long long count = 0;
        for (std::size_t i = 1; i < n; ++i) count += del ? keys.erase(args[i]) : keys.find(args[i]) != nullptr;
        return reply_integer(out, count);
    }
    if (equals_nocase(name, "MGET")) {
        if (n < 2) return wrong_arity(out, name);
        reply_array(out, n - 1);
        for (std::size_t i = 1; i < n; ++i) {
            const entry* found = keys.find(args[i]);
            found != nullptr ? reply_bulk(out, found->value) : reply_null(out);
        }
        return;
    }
    if (equals_nocase(name, "CONFIG")) {
        if (n != 3 || !equals_nocase(args[1], "GET")) return reply_error(out, "ERR only CONFIG GET parameter is supported");
        const bool save = equals_nocase(args[2], "SAVE");
        if (!save && !equals_nocase(args[2], "APPENDONLY")) return reply_array(out, 0);
        reply_array(out, 2);
        reply_bulk(out, save ? "save" : "appendonly");
        return reply_bulk(out, save ? "" : "no");
    }
    if (equals_nocase(name, "COMMAND")) return reply_array(out, 0);
    std::string text = "ERR unknown command '";
    text.append(name.substr(0, 64)).append("'");
    reply_error(out, text);
}

// --- the server ---------------------------------------------------------------------------------

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6380;
    std::size_t max_request = 1 << 20;
    std::size_t cores = 1;
};

/// What the cores share: their listeners, and the store (core 0's).
struct shared_state {
    explicit shared_state(const options& opts) : listeners(opts.cores, opts.host, opts.port) {}
    support::core_listeners listeners;
    store keys;  // touched on core 0's loop only
};

/// How far a batch of requests went: bytes fully handled, and whether the rest is malformed.
struct batch_result {
    std::size_t consumed = 0;
    const char* error = nullptr;  // the protocol error that ends the connection, if any
};

/// Runs every complete request at the front of `in`, appending the replies to `out`.
batch_result execute_batch(store& keys, std::string_view in, std::size_t max_request, std::string& out) {
    thread_local std::vector<std::string_view> args;
    batch_result result;
    parsed request;
    while ((request = parse_request(in.substr(result.consumed), max_request, args)).state == parsed::status::complete) {
        execute(keys, args, out);
        result.consumed += request.size;
    }
    if (request.state == parsed::status::malformed) {
        result.error = request.why;
    } else if (in.size() - result.consumed > max_request) {
        result.error = "request too large";
    }
    return result;
}

/// Sets `done` on the waiting connection's loop when destroyed on core 0's: after the batch ran,
/// or unrun if core 0's loop ended first (so the connection never waits forever).
struct completion {
    sluice::loop_handle back;
    sluice::event* done;
    completion(sluice::loop_handle loop, sluice::event& event) : back(std::move(loop)), done(&event) {}
    completion(completion&& other) noexcept : back(std::move(other.back)), done(other.done) {}
    completion& operator=(completion&&) = delete;
    ~completion() {
        if (back) (void)back.post([done = done] { done->set(); });  // its loop waits: it has not ended
    }
};

/// execute_batch on core 0's loop, from a connection on another core. `in` and `out` stay valid:
/// this frame (and the connection's buffers) wait, shielded from cancellation, until core 0 has
/// posted the completion back.
sluice::task<batch_result> execute_on_owner(const sluice::loop_handle& owner, shared_state& shared, std::string_view in,
                                            std::size_t max_request, std::string& out) {
    batch_result result;
    sluice::event done;
    const bool posted = owner.post(
        [&shared, in, max_request, &out, &result, notify = completion(sluice::current_loop(), done)] {
            result = execute_batch(shared.keys, in, max_request, out);
        });
    if (!posted) throw std::runtime_error("the store's core has ended");
    co_await sluice::shield(done.wait());
    co_return result;
}

/// Serves one client until it closes, sends a request that is malformed or too large, or fails.
/// The requests run on this loop if it owns the store (core 0: `owner` is empty), else on `owner`.
sluice::task<> serve_client(sluice::tcp_stream socket, shared_state& shared, sluice::loop_handle owner,
                            std::size_t max_request) {
    sluice::buffered_stream client(std::move(socket));
    std::string replies;
    try {
        for (;;) {
            // Every complete request already buffered, answered in one send.
            const batch_result batch = !owner ? execute_batch(shared.keys, client.buffered(), max_request, replies)
                                              : co_await execute_on_owner(owner, shared, client.buffered(), max_request, replies);
            client.consume(batch.consumed);  // after execution: the requests are views into the buffer
            if (batch.error != nullptr) reply_error(replies, std::string("ERR Protocol error: ") + batch.error);
            if (!replies.empty()) {
                co_await client.write_all(replies);
                replies.clear();
            }
            if (batch.error != nullptr || co_await client.fill() == 0) break;  // end of stream: maybe mid-request
        }
    } catch (const sluice::cancelled_error&) {
        throw;
    } catch (const std::system_error&) {
        // The client reset the connection or vanished: this connection only ends.
    }
}

sluice::task<> serve(const options& opts, shared_state& shared, std::size_t core) {
    const sluice::loop_handle owner = core == 0 ? sluice::loop_handle() : sluice::core_loop(0);
    std::optional<sluice::tcp_listener> listener = shared.listeners.bind(core);
    if (!listener) co_return;  // core 0 could not bind: its error ends the server
    if (core == 0) {
        std::printf("Serving on %s\n", listener->local_endpoint().to_string().c_str());
        std::fflush(stdout);
    }
    for (;;) sluice::spawn(serve_client(co_await listener->accept(), shared, owner, opts.max_request)).detach();
}

constexpr const char* help =
    "usage: kv_server [-h] [--port P] [--host ADDRESS] [--max-request BYTES] [--cores N]\n"
    "  -h, --help           show this help and exit\n"
    "  --port P             port to listen on, 0..65535 (default 6380; 0 picks a free port)\n"
    "  --host ADDR          numeric address to listen on (default 127.0.0.1)\n"
    "  --max-request BYTES  largest request accepted, 64..1073741824 (default 1048576)\n"
    "  --cores N            loops (threads) serving clients, 1..256 (default 1; the store stays on core 0)\n";

void parse_word(args::command_line& line, options& opts) {
    if (line.is("", "--max-request")) {
        opts.max_request = static_cast<std::size_t>(line.integer(64, 1LL << 30));
    } else if (!args::listen_address(line, opts.host, opts.port) && !support::cores_argument(line, opts.cores)) {
        line.unrecognized();
    }
}

}  // namespace

int main(int argc, char** argv) {
    options opts;
    const auto each = [&](args::command_line& line) { parse_word(line, opts); };
    if (const auto exit_status = args::parse(argc, argv, help, each)) return *exit_status;
    try {
        shared_state shared(opts);
        sluice::run_on_cores(opts.cores, [&](std::size_t core) { return serve(opts, shared, core); });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kv_server: %s\n", e.what());
        return 1;
    }
    return 0;
}

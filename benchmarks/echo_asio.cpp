// echo_asio: the Boost.Asio (C++20 coroutines) twin of examples/echo_server for W5
// (docs/design.md, "Benchmarks").
//
// Usage: echo_asio [--port P] [--host 127.0.0.1]
//
// The idiomatic Asio coroutine echo server: one io_context run on one thread (concurrency hint 1,
// as in asio_bench), an acceptor coroutine that co_spawns one session coroutine per connection;
// a session loops async_read_some / async_write (the whole buffer) until end of stream, then
// closes. TCP_NODELAY is set on every accepted socket (sluice and asyncio do the same). Prints
// "Serving on 127.0.0.1:PORT" (port 0 picks a free port) and serves until killed. Unlike
// echo_server it prints nothing per connection. Completion token: asio::deferred, as asio_bench
// (the faster spelling on this machine).

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

asio::awaitable<void> session(tcp::socket socket) {
    try {
        std::array<char, 16 * 1024> buffer;
        for (;;) {
            const std::size_t n = co_await socket.async_read_some(asio::buffer(buffer), asio::deferred);
            co_await asio::async_write(socket, asio::buffer(buffer.data(), n), asio::deferred);
        }
    } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::eof) std::fprintf(stderr, "echo_asio: %s\n", e.what());
    }
    boost::system::error_code ignored;
    socket.close(ignored);
}

asio::awaitable<void> listen(tcp::acceptor acceptor) {
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::deferred);
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
}

void usage() { std::fputs("usage: echo_asio [--port P] [--host ADDR]\n", stderr); }

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    long port = 8888;
    for (int i = 1; i < argc; i += 2) {
        const std::string_view arg = argv[i];
        if (i + 1 >= argc) {
            usage();
            return 1;
        }
        if (arg == "--host") {
            host = argv[i + 1];
        } else if (arg == "--port") {
            char* end = nullptr;
            errno = 0;
            port = std::strtol(argv[i + 1], &end, 10);
            if (errno != 0 || end == argv[i + 1] || *end != '\0' || port < 0 || port > 65535) {
                usage();
                return 1;
            }
        } else {
            usage();
            return 1;
        }
    }
    try {
        asio::io_context context(1);
        const tcp::endpoint local(asio::ip::make_address(host), static_cast<unsigned short>(port));
        tcp::acceptor acceptor(context);
        acceptor.open(local.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(local);
        acceptor.listen(1024);
        const tcp::endpoint bound = acceptor.local_endpoint();
        std::printf("Serving on %s:%u\n", bound.address().to_string().c_str(), static_cast<unsigned>(bound.port()));
        std::fflush(stdout);
        asio::co_spawn(context, listen(std::move(acceptor)), [](const std::exception_ptr& error) {
            if (error) std::rethrow_exception(error);
        });
        context.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_asio: %s\n", e.what());
        return 1;
    }
    return 0;
}

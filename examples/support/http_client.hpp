#pragma once
// One HTTP/1.1 exchange over a sluice TCP stream, shared by the examples that fetch (flags, crawl):
// send a GET, read until the parser of examples/support/http.hpp has the whole response (or the
// server closed the connection). http.hpp itself stays free of I/O.

#include <sluice/net.hpp>
#include <sluice/task.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "http.hpp"

namespace http {

/// GETs `target` from `host` (the Host header) over `stream`, which is connected to it.
inline sluice::task<message> get(sluice::tcp_stream& stream, std::string_view host, std::string_view target) {
    co_await stream.write_all(format_request("GET", host, target));
    parser response(parser::kind::response);
    std::array<char, 16384> buffer{};
    for (;;) {
        const std::size_t n = co_await stream.read_some(std::span<char>(buffer));
        if (n == 0) {
            response.finish();
            break;
        }
        if (response.feed(std::string_view(buffer.data(), n))) break;
    }
    co_return std::move(response.get());
}

}  // namespace http

#pragma once
// The listening address the example servers take (echo_server, kv_server): `--port P` (0..65535,
// 0 picks a free port) and `--host ADDRESS` (numeric IPv4 or IPv6 only: a server binds an address,
// it looks nothing up), with examples/support/arguments.hpp's error lines.

#include <sluice/net.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "arguments.hpp"

namespace args {

/// True when the current word was `--port` or `--host`; its value, checked, went into `port` or
/// `host`.
inline bool listen_address(command_line& line, std::string& host, std::uint16_t& port) {
    if (line.is("", "--port")) {
        port = static_cast<std::uint16_t>(line.integer(0, 65535));
        return true;
    }
    if (!line.is("", "--host")) return false;
    const std::string_view value = line.value();
    try {
        (void)sluice::endpoint(value, 0);
    } catch (const std::invalid_argument&) {
        line.bad_value(value, "a numeric IPv4 or IPv6 address");
    }
    host = value;
    return true;
}

}  // namespace args

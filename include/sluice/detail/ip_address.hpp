#pragma once
// Numeric IP addresses and ports, parsed into the sockaddr the kernel wants (endpoint.hpp). No
// name lookup here: that is getaddrinfo's, in detail/net.hpp.

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::detail {

// --- addresses -----------------------------------------------------------------------------------

[[noreturn]] inline void throw_bad_address(std::string_view text, const char* why) {
    std::string what = "sluice: bad address \"";
    what.append(text);
    what += "\": ";
    what += why;
    throw std::invalid_argument(what);
}

/// A port written in decimal, 0..65535; nullopt-like -1 on anything else.
[[nodiscard]] inline int parse_port(std::string_view text) noexcept {
    if (text.empty() || text.size() > 5) return -1;
    int port = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return -1;
        port = port * 10 + (c - '0');
    }
    return port <= 65535 ? port : -1;
}

/// Fills `storage` from a numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "fe80::1%eth0", also in
/// brackets) address; returns the sockaddr's length, or 0 (storage cleared) if `ip` is not one.
/// No name lookup.
inline socklen_t try_parse_ip(std::string_view ip, std::uint16_t port, sockaddr_storage& storage) {
    storage = {};
    std::string_view bare = ip;
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
    if (bare.empty() || bare.size() >= INET6_ADDRSTRLEN + IF_NAMESIZE) return 0;
    std::string text(bare);  // inet_pton wants a NUL-terminated string

    auto& v4 = reinterpret_cast<sockaddr_in&>(storage);
    if (text.find(':') == std::string::npos) {
        if (::inet_pton(AF_INET, text.c_str(), &v4.sin_addr) != 1) return 0;
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        return sizeof(sockaddr_in);
    }

    auto& v6 = reinterpret_cast<sockaddr_in6&>(storage);
    std::uint32_t scope = 0;
    if (const auto percent = text.find('%'); percent != std::string::npos) {
        const std::string zone = text.substr(percent + 1);
        text.resize(percent);
        const int numeric = parse_port(zone);  // a small decimal interface index, or a name
        scope = numeric >= 0 ? static_cast<std::uint32_t>(numeric) : ::if_nametoindex(zone.c_str());
        if (scope == 0 && numeric != 0) return 0;
    }
    if (::inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) != 1) {
        storage = {};
        return 0;
    }
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    v6.sin6_scope_id = scope;
    return sizeof(sockaddr_in6);
}

/// try_parse_ip, std::invalid_argument when `ip` is not a numeric address.
inline socklen_t parse_ip(std::string_view ip, std::uint16_t port, sockaddr_storage& storage) {
    const socklen_t size = try_parse_ip(ip, port, storage);
    if (size == 0) throw_bad_address(ip, "not a numeric IP address (or unknown IPv6 zone)");
    return size;
}

/// "host:port" with host an IPv4 address, or "[v6]:port".
inline socklen_t parse_ip_port(std::string_view text, sockaddr_storage& storage) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw_bad_address(text, "expected ip:port or [ipv6]:port");
    const std::string_view host = text.substr(0, colon);
    const int port = parse_port(text.substr(colon + 1));
    if (port < 0) throw_bad_address(text, "bad port (expected 0..65535)");
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (!bracketed && host.find(':') != std::string_view::npos) {
        throw_bad_address(text, "an IPv6 address with a port must be written [address]:port");
    }
    return parse_ip(host, static_cast<std::uint16_t>(port), storage);
}

}  // namespace sluice::detail

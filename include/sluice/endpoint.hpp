#pragma once
/// sluice/endpoint.hpp: `endpoint`, an IPv4 or IPv6 address and a port (what net.hpp's sockets
/// bind, connect and send to).
///
/// - `endpoint::parse("127.0.0.1:8080")`, `endpoint::parse("[::1]:80")`, `endpoint("::1", 80)`,
///   `endpoint(sockaddr*, size)`; numeric only (no name lookup: `resolve` in net.hpp): a bad string
///   or a socket address of another family throws `std::invalid_argument`.
/// - `to_string()` writes it back in the form parse reads; `address()`, `port()`, `family()`,
///   `data()`/`size()` for system calls; `==` compares the socket addresses.
///
/// A header of its own (no sockets, no loop) so that the machinery of net.hpp can use the type.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "detail/ip_address.hpp"

namespace sluice {

/// An IPv4 or IPv6 socket address (address + port), as the kernel wants it (sockaddr_storage).
class endpoint {
public:
    /// An empty endpoint (no address family); `to_string()` is "".
    endpoint() noexcept = default;
    /// A numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "[::1]", "fe80::1%eth0") address and a port.
    /// std::invalid_argument if `ip` is not one (no name lookup: see `resolve`).
    endpoint(std::string_view ip, std::uint16_t port) : size_(detail::parse_ip(ip, port, storage_)) {}
    /// Copies a socket address of family AF_INET or AF_INET6 (std::invalid_argument otherwise).
    endpoint(const sockaddr* address, socklen_t size) {
        const bool v4 = address != nullptr && address->sa_family == AF_INET && size >= sizeof(sockaddr_in);
        const bool v6 = address != nullptr && address->sa_family == AF_INET6 && size >= sizeof(sockaddr_in6);
        if ((!v4 && !v6) || size > static_cast<socklen_t>(sizeof storage_)) {
            throw std::invalid_argument("sluice: endpoint: not an IPv4 or IPv6 socket address");
        }
        std::memcpy(&storage_, address, size);
        size_ = size;
    }

    /// "ipv4:port" or "[ipv6]:port" (numeric only); std::invalid_argument on anything else.
    [[nodiscard]] static endpoint parse(std::string_view text) {
        endpoint result;
        result.size_ = detail::parse_ip_port(text, result.storage_);
        return result;
    }

    /// AF_INET, AF_INET6, or AF_UNSPEC for an empty endpoint.
    [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
    [[nodiscard]] bool is_v4() const noexcept { return family() == AF_INET; }
    [[nodiscard]] bool is_v6() const noexcept { return family() == AF_INET6; }

    /// The port in host byte order (0 for an empty endpoint).
    [[nodiscard]] std::uint16_t port() const noexcept {
        if (is_v4()) return ntohs(as_v4().sin_port);
        if (is_v6()) return ntohs(as_v6().sin6_port);
        return 0;
    }

    /// The address alone: "127.0.0.1", "::1", "fe80::1%2" ("" for an empty endpoint).
    [[nodiscard]] std::string address() const {
        char text[INET6_ADDRSTRLEN] = {};
        if (is_v4()) {
            ::inet_ntop(AF_INET, &as_v4().sin_addr, text, sizeof text);
            return text;
        }
        if (!is_v6()) return {};
        ::inet_ntop(AF_INET6, &as_v6().sin6_addr, text, sizeof text);
        std::string result = text;
        if (as_v6().sin6_scope_id != 0) result += "%" + std::to_string(as_v6().sin6_scope_id);
        return result;
    }

    /// "127.0.0.1:8080" or "[::1]:80", as `parse` reads it ("" for an empty endpoint).
    [[nodiscard]] std::string to_string() const {
        if (is_v4()) return address() + ":" + std::to_string(port());
        if (is_v6()) return "[" + address() + "]:" + std::to_string(port());
        return {};
    }

    /// The socket address, for system calls.
    [[nodiscard]] const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    [[nodiscard]] socklen_t size() const noexcept { return size_; }

    friend bool operator==(const endpoint& a, const endpoint& b) noexcept {
        return a.size_ == b.size_ && std::memcmp(&a.storage_, &b.storage_, a.size_) == 0;
    }

private:
    [[nodiscard]] const sockaddr_in& as_v4() const noexcept { return reinterpret_cast<const sockaddr_in&>(storage_); }
    [[nodiscard]] const sockaddr_in6& as_v6() const noexcept { return reinterpret_cast<const sockaddr_in6&>(storage_); }

    sockaddr_storage storage_{};
    socklen_t size_ = 0;
};

}  // namespace sluice

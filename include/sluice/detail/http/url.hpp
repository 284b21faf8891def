#pragma once
// The URLs sluice::http fetches: http:// and https:// with a host (name, IPv4, or [IPv6]), an
// optional port and a target (path + query; the fragment is dropped, it never goes on the wire),
// and the resolution of a redirect's Location against the URL that answered it (RFC 3986 §5.2,
// without dot-segment removal: servers send absolute paths in practice). No Beast here.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::detail::http {

struct url_parts {
    bool tls = false;        // https
    std::string host;        // without brackets
    std::uint16_t port = 0;  // 80 / 443 when absent
    std::string target;      // "/path?query", at least "/"

    [[nodiscard]] bool default_port() const noexcept { return port == (tls ? 443 : 80); }
    /// The host as the Host header and URLs write it: [v6] in brackets, the port only when not the default.
    [[nodiscard]] std::string authority() const {
        std::string text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
        if (!default_port()) text += ":" + std::to_string(port);
        return text;
    }
    [[nodiscard]] std::string origin() const { return std::string(tls ? "https://" : "http://") + authority(); }
    [[nodiscard]] std::string text() const { return origin() + target; }
};

[[nodiscard]] inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

/// Same scheme, host (any case) and port: where credentials may follow a redirect.
[[nodiscard]] inline bool same_origin(const url_parts& a, const url_parts& b) noexcept {
    return a.tls == b.tls && a.port == b.port && iequals(a.host, b.host);
}

/// Splits an absolute http(s) URL; nullopt for anything else (another scheme, no host, a bad
/// port, user info, spaces or control characters).
[[nodiscard]] inline std::optional<url_parts> parse_url(std::string_view text) {
    url_parts url;
    const std::size_t colon = text.find("://");
    if (colon == std::string_view::npos) return std::nullopt;
    const std::string_view scheme = text.substr(0, colon);
    if (iequals(scheme, "https")) {
        url.tls = true;
    } else if (!iequals(scheme, "http")) {
        return std::nullopt;
    }
    for (const char c : text) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
    }
    std::string_view rest = text.substr(colon + 3);
    const std::size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (authority.find('@') != std::string_view::npos) return std::nullopt;
    std::string_view port_text;
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        url.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && !after.starts_with(':')) return std::nullopt;
        if (!after.empty()) port_text = after.substr(1);
        if (url.host.find(':') == std::string::npos) return std::nullopt;
    } else {
        const std::size_t port_colon = authority.find(':');
        url.host = std::string(authority.substr(0, port_colon));
        if (port_colon != std::string_view::npos) port_text = authority.substr(port_colon + 1);
    }
    if (url.host.empty()) return std::nullopt;
    url.port = url.tls ? 443 : 80;
    if (!port_text.empty()) {
        unsigned long port = 0;
        for (const char c : port_text) {
            if (c < '0' || c > '9' || port > 65535) return std::nullopt;
            port = port * 10 + static_cast<unsigned long>(c - '0');
        }
        if (port == 0 || port > 65535) return std::nullopt;
        url.port = static_cast<std::uint16_t>(port);
    }
    target = target.substr(0, target.find('#'));
    if (target.empty() || target.front() == '?') {
        url.target = "/" + std::string(target);
    } else {
        url.target = std::string(target);
    }
    return url;
}

/// Where a redirect's Location points, relative to `base`; nullopt if it is not an http(s) URL.
[[nodiscard]] inline std::optional<url_parts> resolve_location(const url_parts& base, std::string_view location) {
    if (location.find("://") != std::string_view::npos) return parse_url(location);
    if (location.starts_with("//")) return parse_url(std::string(base.tls ? "https:" : "http:") + std::string(location));
    if (location.starts_with('/')) return parse_url(base.origin() + std::string(location));
    std::string_view path = std::string_view(base.target).substr(0, base.target.find('?'));
    path = path.substr(0, path.rfind('/') + 1);
    if (location.starts_with('?')) path = std::string_view(base.target).substr(0, base.target.find('?'));
    return parse_url(base.origin() + std::string(path) + std::string(location));
}

}  // namespace sluice::detail::http

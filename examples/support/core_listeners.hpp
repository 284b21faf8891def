#pragma once
// Shared by the servers in examples/ that take `--cores N` (echo_server, kv_server): one listener
// per core on one port, with SO_REUSEPORT (the kernel spreads incoming connections over them), so
// each core accepts and serves its own clients and no socket ever moves between loops.
//
// Core 0 binds first (with --port 0 the kernel picks the port); the other cores then bind the port
// it got. That wait blocks a core's thread at start-up only, before its loop has anything else
// to do. With one core, the listener is bound as before (no SO_REUSEPORT).

#include <sluice/net.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <optional>
#include <string>
#include <utility>

#include "arguments.hpp"

namespace support {

/// `--cores N` (1..256): true when the current word was it; the value went into `cores`.
inline bool cores_argument(args::command_line& line, std::size_t& cores) {
    if (!line.is("", "--cores")) return false;
    cores = static_cast<std::size_t>(line.integer(1, 256));
    return true;
}

/// The per-core listeners of one server; shared by the cores' threads.
class core_listeners {
public:
    core_listeners(std::size_t cores, std::string host, std::uint16_t port)
        : cores_(cores), host_(std::move(host)), port_(port), port_known_(1) {}

    /// Core `core`'s listener (on its thread, inside its loop), or nullopt if core 0 could not
    /// bind (its error is the server's: this core just has nothing to serve). A connection that
    /// arrives before the other cores have bound goes to core 0.
    std::optional<sluice::tcp_listener> bind(std::size_t core) {
        const sluice::listen_options options{.backlog = 1024, .reuse_port = cores_ > 1};
        if (core == 0) {
            std::optional<sluice::tcp_listener> listener;
            try {
                listener.emplace(sluice::tcp_listener::bind(sluice::endpoint(host_, port_), options));
                actual_port_.store(listener->local_endpoint().port());
            } catch (...) {
                port_known_.count_down();  // port 0: the other cores give up
                throw;
            }
            port_known_.count_down();
            return listener;
        }
        port_known_.wait();
        const std::uint16_t port = actual_port_.load();
        if (port == 0) return std::nullopt;
        return sluice::tcp_listener::bind(sluice::endpoint(host_, port), options);
    }

private:
    std::size_t cores_;
    std::string host_;
    std::uint16_t port_;
    std::latch port_known_;  // core 0 has bound, or failed to
    std::atomic<std::uint16_t> actual_port_{0};
};

}  // namespace support

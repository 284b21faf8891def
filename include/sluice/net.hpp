#pragma once
/// sluice/net.hpp: TCP, Unix-domain and UDP sockets on io_uring or epoll (asyncio streams:
/// open_connection, start_server, open_unix_connection; datagram endpoints).
///
/// - `endpoint` (endpoint.hpp, included here): an IPv4 or IPv6 address and a port.
///   `endpoint::parse("127.0.0.1:8080")`, `endpoint::parse("[::1]:80")`, `endpoint("::1", 80)`;
///   numeric only (no name lookup): a bad string throws `std::invalid_argument`. `to_string()`
///   writes it back in the same form.
/// - `co_await resolve(host, port)`: the endpoints of a host name (getaddrinfo(3), run off the
///   loop thread by `to_thread`); `co_await tcp_stream::connect(host, port)` tries them in turn.
/// - `tcp_listener::bind(endpoint, backlog)`: a listening socket (SO_REUSEADDR; port 0 picks a
///   free port, `local_endpoint()` tells which). `co_await accept()` yields a `tcp_stream`.
///   Out of descriptors (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM), accept() neither throws nor
///   spins: it waits 10 ms, 20 ms, ... up to 1 s between attempts (cancellable sleeps) so the
///   server serves the queued clients once descriptors are free again (asyncio does the same).
/// - `tcp_stream`: `co_await tcp_stream::connect(endpoint)`, `co_await read_some(buf)` (bytes
///   read; 0 is end of stream, a value, not an error), `co_await read_exact(buf)` (fills the
///   buffer; fewer bytes only at end of stream), `co_await write_all(bytes)` (continues short
///   writes), `write_some` (also of several buffers at once: sendmsg), `shutdown(how)`,
///   `close()`, `set_nodelay()`. The reads and writes live in the base `stream_socket`.
/// - `listen_options{.backlog, .reuse_port}`: SO_REUSEPORT for one listener per thread.
/// - `tcp_listener::from_fd`, `tcp_stream::from_fd` (and the Unix and UDP ones): adopt a
///   descriptor (systemd socket activation), checking that it is the right kind of socket.
/// - `unix_listener::bind(path)`, `co_await unix_stream::connect(path)`: Unix-domain stream
///   sockets (unix(7)), the same operations as TCP.
/// - `udp_socket::bind(endpoint)`: `co_await send_to(bytes, endpoint)`, `co_await
///   receive_from(buf)` (one datagram: size, sender, truncated).
///
/// The task-returning functions (resolve, connect, read_exact, write_all, send_to, receive_from)
/// are templates with an unused, defaulted parameter: call them as usual; only naming one without
/// calling it needs `<>` (`&sluice::resolve<>`). g++ 12 would otherwise compile every one of them
/// into each translation unit that includes this header (see detail/file.hpp).
///
/// Errors are `std::system_error` carrying the kernel's errno (ECONNREFUSED, ECONNRESET, EPIPE,
/// ...); connect, bind, listen and send_to name the address or path ("connect 127.0.0.1:9:
/// Connection refused"). Writing to a peer that is gone gives EPIPE and never raises SIGPIPE (MSG_NOSIGNAL). An
/// operation on a closed or moved-from socket fails with `std::system_error` (EBADF).
///
/// Every `co_await` here is one or more kernel operations and a cancellation point: cancelling
/// the task cancels the operation (io_uring: IORING_OP_ASYNC_CANCEL; epoll: the wait for readiness
/// ends) and `cancelled_error` is thrown once the kernel has let go of it. An operation that completed before the cancel took effect
/// keeps its result (an accepted connection is returned; RAII closes it when the cancel unwinds
/// the task at its next suspension); a cancelled `write_all` may have sent part of its data.
///
/// Lifetimes: a buffer passed to an operation must stay valid until its `co_await` completes
/// (the usual case: it lives in the awaiting coroutine). The socket object must outlive, and not
/// be moved during, the operations running on it. TCP_NODELAY is on for every connected and
/// accepted stream, as in asyncio.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "detail/net.hpp"
#include "endpoint.hpp"
#include "task.hpp"
#include "thread_pool.hpp"

namespace sluice {

/// The error category of `resolve`'s lookup failures: getaddrinfo(3)'s EAI_* codes (EAI_NONAME,
/// EAI_AGAIN, ...), with gai_strerror's messages. EAI_SYSTEM is reported as the errno instead.
[[nodiscard]] inline const std::error_category& resolve_category() noexcept { return detail::gai_category(); }

/// `co_await resolve(host, port)` yields the TCP endpoints of `host` (IPv4 and IPv6, in
/// getaddrinfo's order): a numeric address at once, a name through getaddrinfo(3) run by
/// `to_thread` (the loop goes on meanwhile). Failure: std::system_error in `resolve_category()`.
/// Cancelling it while getaddrinfo runs waits for the call to return (a thread cannot be
/// interrupted), then throws cancelled_error.
template <class = void>
[[nodiscard]] task<std::vector<endpoint>> resolve(std::string host, std::uint16_t port) {
    return detail::resolve_endpoints(std::move(host), port);
}

/// Which direction(s) `tcp_stream::shutdown` ends (SHUT_RD, SHUT_WR, SHUT_RDWR).
enum class shutdown_how { read = SHUT_RD, write = SHUT_WR, both = SHUT_RDWR };

/// What every connected stream socket does (the base of tcp_stream and unix_stream): reads,
/// writes, shutdown and close. Move-only; a moved-from socket holds none (`native_handle()` -1).
///
/// The destructor and `close()` close synchronously (close(2)): closing a socket never blocks
/// (unless you set SO_LINGER with a timeout yourself), and an io_uring close would need an
/// asynchronous destructor. Close only when no operation runs on the socket: the kernel keeps a
/// socket that an io_uring operation still uses alive, so closing does not end that operation;
/// cancel the task that runs it instead.
class stream_socket {
public:
    /// Holds no socket.
    stream_socket() noexcept = default;
    /// Takes ownership of a connected stream socket descriptor.
    explicit stream_socket(int fd) noexcept : fd_(fd) {}

    /// `co_await read_some(buf)` yields the bytes read into `buf` (at least 1), or 0 at end of
    /// stream (the peer shut down its side). An empty `buf` yields 0 at once.
    /// @see recv(2), io_uring_prep_recv(3)
    [[nodiscard]] auto read_some(std::span<std::byte> buffer) noexcept { return detail::recv_some(fd_.get(), buffer); }
    [[nodiscard]] auto read_some(std::span<char> buffer) noexcept { return read_some(std::as_writable_bytes(buffer)); }

    /// `co_await read_exact(buf)` reads until `buf` is full and yields its size; at end of stream it
    /// stops early and yields the bytes read so far (fewer than requested only then).
    template <class = void>
    [[nodiscard]] task<std::size_t> read_exact(std::span<std::byte> buffer) { return detail::recv_exact(fd_.get(), buffer); }
    template <class = void>
    [[nodiscard]] task<std::size_t> read_exact(std::span<char> buffer) { return read_exact(std::as_writable_bytes(buffer)); }

    /// `co_await write_some(bytes)` sends what the socket takes now (at least 1 byte) and yields
    /// how much. @see send(2), io_uring_prep_send(3)
    [[nodiscard]] auto write_some(std::span<const std::byte> data) noexcept { return detail::send_some(fd_.get(), data); }
    [[nodiscard]] auto write_some(std::string_view data) noexcept { return write_some(std::as_bytes(std::span(data))); }

    /// `co_await write_some(buffers)` sends what the socket takes now of several buffers, in order,
    /// in one system call (a gathered write; at most 1024 buffers per call) and yields how many
    /// bytes. MSG_NOSIGNAL, as every send here. @see sendmsg(2), io_uring_prep_sendmsg(3)
    [[nodiscard]] auto write_some(std::span<const iovec> buffers) noexcept { return detail::send_vectored(fd_.get(), buffers); }

    /// `co_await write_all(bytes)` sends all of `bytes`, continuing short writes. EPIPE or
    /// ECONNRESET once the peer is gone (never SIGPIPE). @see send(2)
    template <class = void>
    [[nodiscard]] task<void> write_all(std::span<const std::byte> data) { return detail::send_all(fd_.get(), data); }
    template <class = void>
    [[nodiscard]] task<void> write_all(std::string_view data) { return write_all(std::as_bytes(std::span(data))); }

    /// Ends reading, writing (the peer reads end of stream) or both; synchronous (shutdown(2)
    /// never blocks). std::system_error on failure (ENOTCONN, EBADF).
    void shutdown(shutdown_how how) {
        if (::shutdown(fd_.get(), static_cast<int>(how)) != 0) detail::throw_errno("shutdown");
    }

    /// Closes the socket now (close(2)); no effect if already closed.
    void close() noexcept { fd_.reset(); }
    [[nodiscard]] bool is_open() const noexcept { return static_cast<bool>(fd_); }

    /// The socket descriptor (still owned by this object), or -1.
    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }
    /// Gives up ownership of the descriptor without closing it.
    [[nodiscard]] int release() noexcept { return fd_.release(); }

protected:
    detail::unique_fd fd_;
};

/// A connected TCP socket: a stream_socket with connect, TCP_NODELAY and its endpoints.
class tcp_stream : public stream_socket {
public:
    /// Holds no socket.
    tcp_stream() noexcept = default;
    /// Takes ownership of a connected TCP socket descriptor (unchecked: see `from_fd`).
    explicit tcp_stream(int fd) noexcept : stream_socket(fd) {}

    /// Adopts a connected TCP socket (inherited, or passed by a supervisor). std::system_error
    /// (ENOTSOCK, EBADF) if `fd` is no socket; std::invalid_argument if it is another kind of
    /// socket (UDP, Unix-domain, listening), the message saying which. On failure `fd` stays open
    /// and yours. @see getsockopt(2)
    [[nodiscard]] static tcp_stream from_fd(int fd) {
        detail::check_adopted_socket(fd, "tcp_stream::from_fd", SOCK_STREAM, AF_INET, false);
        return tcp_stream(fd);
    }

    /// `co_await connect(remote)` yields a stream connected to `remote`; std::system_error on
    /// failure (ECONNREFUSED, ETIMEDOUT, ENETUNREACH, ...), its message naming `remote`.
    /// @see connect(2), io_uring_prep_connect(3)
    template <class = void>
    [[nodiscard]] static task<tcp_stream> connect(endpoint remote) {
        return detail::connect_stream<tcp_stream>(std::move(remote));
    }

    /// Connects to `host`: a numeric address, or a name looked up with `resolve`, whose addresses
    /// are tried in turn; the last one's error if none accepts.
    template <class = void>
    [[nodiscard]] static task<tcp_stream> connect(std::string host, std::uint16_t port) {
        return detail::connect_host<tcp_stream>(std::move(host), port);
    }

    /// Turns Nagle's algorithm off (true, the default sluice sets) or on. @see tcp(7) TCP_NODELAY
    void set_nodelay(bool on) { detail::set_nodelay(fd_.get(), on); }

    /// This side's address (getsockname(2)) and the peer's (getpeername(2)).
    [[nodiscard]] endpoint local_endpoint() const { return detail::socket_name(fd_.get(), ::getsockname, "getsockname"); }
    [[nodiscard]] endpoint remote_endpoint() const { return detail::socket_name(fd_.get(), ::getpeername, "getpeername"); }
};

/// A connected Unix-domain stream socket (unix(7)): a stream_socket with connect(path).
class unix_stream : public stream_socket {
public:
    /// Holds no socket.
    unix_stream() noexcept = default;
    /// Takes ownership of a connected Unix-domain stream socket descriptor (unchecked: see `from_fd`).
    explicit unix_stream(int fd) noexcept : stream_socket(fd) {}

    /// Adopts a connected Unix-domain stream socket; errors as tcp_stream::from_fd.
    [[nodiscard]] static unix_stream from_fd(int fd) {
        detail::check_adopted_socket(fd, "unix_stream::from_fd", SOCK_STREAM, AF_UNIX, false);
        return unix_stream(fd);
    }

    /// `co_await connect(path)` yields a stream connected to the socket at `path`; std::system_error
    /// naming the path on failure (ENOENT: nothing there, ECONNREFUSED: nobody listens, EACCES),
    /// std::invalid_argument for a path unix(7) cannot hold. @see connect(2), io_uring_prep_connect(3)
    template <class = void>
    [[nodiscard]] static task<unix_stream> connect(std::string_view path) {
        return detail::connect_stream<unix_stream>(detail::unix_address(path));
    }
};

/// Backlog and options of a listening socket.
struct listen_options {
    /// The length of the queue of connections not accepted yet. @see listen(2)
    int backlog = 128;
    /// SO_REUSEPORT: several sockets (of this user) may bind the same address and port, the kernel
    /// spreading the incoming connections over them (one listener per loop and thread). TCP only.
    /// @see socket(7) SO_REUSEPORT
    bool reuse_port = false;
};

/// What every listening stream socket does (the base of tcp_listener and unix_listener): accept
/// connections as `Stream`s. Move-only; closes synchronously when destroyed or `close()`d (cancel
/// the task blocked in `accept()` first: closing does not end an io_uring accept in flight).
template <class Stream>
class basic_listener {
public:
    /// `co_await accept()` yields the next connection (close-on-exec; TCP_NODELAY on for TCP). Out
    /// of descriptors or memory it waits and retries (10 ms doubling to 1 s; see the top of this
    /// file) instead of failing; a connection that died in the queue is skipped. Other errors:
    /// std::system_error. The listener must outlive the returned task. @see accept4(2)
    [[nodiscard]] task<Stream> accept() { return detail::accept_stream<Stream>(fd_.get(), &backoffs_); }

    /// How many times accept() waited because descriptors or memory ran out (for monitoring).
    [[nodiscard]] std::uint64_t accept_backoffs() const noexcept { return backoffs_; }

    /// Closes the socket now; no effect if already closed.
    void close() noexcept { fd_.reset(); }
    [[nodiscard]] bool is_open() const noexcept { return static_cast<bool>(fd_); }
    /// The socket descriptor (still owned by the listener), or -1.
    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }

protected:
    detail::unique_fd fd_;
    std::uint64_t backoffs_ = 0;
};

/// A listening TCP socket.
class tcp_listener : public basic_listener<tcp_stream> {
public:
    /// Holds no socket.
    tcp_listener() noexcept = default;

    /// A socket bound to `local` and listening (SO_REUSEADDR; port 0 picks a free port). IPv6
    /// addresses keep the system's IPV6_V6ONLY default. std::system_error naming `local` on failure
    /// (EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, ...). @see bind(2), listen(2)
    [[nodiscard]] static tcp_listener bind(const endpoint& local, listen_options options) {
        tcp_listener listener;
        listener.fd_ = detail::open_socket(local.family(), SOCK_STREAM);
        detail::bind_socket(listener.fd_.get(), local, true, options.reuse_port, options.backlog);
        return listener;
    }
    /// bind(local, {.backlog = backlog}).
    [[nodiscard]] static tcp_listener bind(const endpoint& local, int backlog = 128) {
        return bind(local, listen_options{.backlog = backlog, .reuse_port = false});
    }

    /// Adopts a listening TCP socket: systemd socket activation (descriptors from 3 =
    /// SD_LISTEN_FDS_START on), inetd, a supervisor that binds privileged ports. std::system_error
    /// (ENOTSOCK, EBADF) if `fd` is no socket; std::invalid_argument if it is another kind of
    /// socket (UDP, Unix-domain, not listening), the message saying which. On failure `fd` stays
    /// open and yours. @see getsockopt(2), sd_listen_fds(3)
    [[nodiscard]] static tcp_listener from_fd(int fd) {
        detail::check_adopted_socket(fd, "tcp_listener::from_fd", SOCK_STREAM, AF_INET, true);
        tcp_listener listener;
        listener.fd_ = detail::unique_fd(fd);
        return listener;
    }

    /// The address actually bound (with the real port after binding port 0). @see getsockname(2)
    [[nodiscard]] endpoint local_endpoint() const { return detail::socket_name(fd_.get(), ::getsockname, "getsockname"); }
};

/// A listening Unix-domain stream socket (unix(7)).
class unix_listener : public basic_listener<unix_stream> {
public:
    /// Holds no socket.
    unix_listener() noexcept = default;

    /// A socket bound to the filesystem `path` and listening. A socket file already at `path` (left
    /// by an earlier run) is removed first, as asyncio's create_unix_server does; any other file
    /// there is an error (EADDRINUSE). The file is not removed on close. std::system_error naming
    /// the path on failure; std::invalid_argument for a path unix(7) cannot hold. `reuse_port` is
    /// ignored. @see bind(2), listen(2), unix(7)
    [[nodiscard]] static unix_listener bind(std::string_view path, listen_options options = {}) {
        const detail::unix_address address(path);
        struct stat status {};
        if (::lstat(address.to_string().c_str(), &status) == 0 && S_ISSOCK(status.st_mode)) {
            ::unlink(address.to_string().c_str());
        }
        unix_listener listener;
        listener.fd_ = detail::open_socket(AF_UNIX, SOCK_STREAM);
        detail::bind_socket(listener.fd_.get(), address, false, false, options.backlog);
        return listener;
    }

    /// Adopts a listening Unix-domain stream socket; errors as tcp_listener::from_fd.
    [[nodiscard]] static unix_listener from_fd(int fd) {
        detail::check_adopted_socket(fd, "unix_listener::from_fd", SOCK_STREAM, AF_UNIX, true);
        unix_listener listener;
        listener.fd_ = detail::unique_fd(fd);
        return listener;
    }
};

/// One datagram received by `udp_socket::receive_from`.
struct datagram {
    /// Bytes stored in the buffer.
    std::size_t size = 0;
    /// Who sent it.
    endpoint sender;
    /// The datagram was longer than the buffer; its end was discarded (MSG_TRUNC).
    bool truncated = false;
};

/// A UDP socket (udp(7)): datagrams to and from any address. Move-only; closes synchronously.
class udp_socket {
public:
    /// Holds no socket.
    udp_socket() noexcept = default;

    /// A socket bound to `local` (port 0 picks a free port; "0.0.0.0:0" or "[::]:0" for a socket
    /// that only sends). std::system_error naming `local` on failure. @see bind(2)
    [[nodiscard]] static udp_socket bind(const endpoint& local) {
        udp_socket socket;
        socket.fd_ = detail::open_socket(local.family(), SOCK_DGRAM);
        detail::bind_socket(socket.fd_.get(), local, false, false, -1);
        return socket;
    }

    /// Adopts a UDP socket; errors as tcp_listener::from_fd.
    [[nodiscard]] static udp_socket from_fd(int fd) {
        detail::check_adopted_socket(fd, "udp_socket::from_fd", SOCK_DGRAM, AF_INET, false);
        udp_socket socket;
        socket.fd_ = detail::unique_fd(fd);
        return socket;
    }

    /// `co_await send_to(bytes, to)` sends one datagram and yields its size. std::system_error
    /// naming `to` on failure (EMSGSIZE: too long; EAFNOSUPPORT: an IPv6 address from an IPv4
    /// socket; ...). @see sendmsg(2), io_uring_prep_sendmsg(3)
    template <class = void>
    [[nodiscard]] task<std::size_t> send_to(std::span<const std::byte> data, endpoint to) {
        return detail::send_datagram(fd_.get(), data, std::move(to));
    }
    template <class = void>
    [[nodiscard]] task<std::size_t> send_to(std::string_view data, endpoint to) {
        return send_to(std::as_bytes(std::span(data)), std::move(to));
    }

    /// `co_await receive_from(buf)` waits for one datagram and yields its size, its sender and
    /// whether it was truncated to fit `buf`. @see recvmsg(2), io_uring_prep_recvmsg(3)
    template <class = void>
    [[nodiscard]] task<datagram> receive_from(std::span<std::byte> buffer) {
        return detail::receive_datagram<datagram, endpoint>(fd_.get(), buffer);
    }
    template <class = void>
    [[nodiscard]] task<datagram> receive_from(std::span<char> buffer) { return receive_from(std::as_writable_bytes(buffer)); }

    /// The address bound (with the real port after binding port 0). @see getsockname(2)
    [[nodiscard]] endpoint local_endpoint() const { return detail::socket_name(fd_.get(), ::getsockname, "getsockname"); }

    /// Closes the socket now; no effect if already closed.
    void close() noexcept { fd_.reset(); }
    [[nodiscard]] bool is_open() const noexcept { return static_cast<bool>(fd_); }
    /// The socket descriptor (still owned by this object), or -1.
    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }

private:
    detail::unique_fd fd_;
};

}  // namespace sluice

#pragma once
// Machinery of sluice/net.hpp: socket set-up, name lookup, and the TCP operations on
// raw descriptors (each one kernel op through io_awaitable, or a loop of them).
//
// TRICKY (lifetimes): every buffer and address handed to the kernel lives in the frame of the
// coroutine awaiting the op (the caller's span, or a parameter of one of the coroutines below).
// io_awaitable resumes that coroutine only after the op's own CQE has arrived, also when the op
// is cancelled (ASYNC_CANCEL is a second completion that we do not resume on), so the kernel never
// writes into a frame that is gone.

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../endpoint.hpp"
#include "../task.hpp"
#include "../thread_pool.hpp"
#include "../time.hpp"
#include "descriptor.hpp"
#include "io_awaitable.hpp"
#include "std_chrono.hpp"
#include "system_error.hpp"
#include "transfer_all.hpp"

namespace sluice::detail {

// --- sockets -------------------------------------------------------------------------------------

/// A Unix-domain socket address: a filesystem path (unix(7)), what unix_listener and unix_stream
/// bind and connect to. Same interface as sluice::endpoint where the operations need it.
class unix_address {
public:
    /// std::invalid_argument for an empty path, one of 108 bytes or more (sun_path's size), or one
    /// holding a NUL byte.
    explicit unix_address(std::string_view path) {
        if (path.empty() || path.size() >= sizeof storage_.sun_path || path.find('\0') != std::string_view::npos) {
            throw std::invalid_argument("sluice: bad Unix socket path \"" + std::string(path) +
                                        "\": empty, longer than 107 bytes, or holding a NUL byte");
        }
        storage_.sun_family = AF_UNIX;
        std::memcpy(storage_.sun_path, path.data(), path.size());
        size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    }
    [[nodiscard]] int family() const noexcept { return AF_UNIX; }
    [[nodiscard]] const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    [[nodiscard]] socklen_t size() const noexcept { return size_; }
    [[nodiscard]] std::string to_string() const { return storage_.sun_path; }

private:
    sockaddr_un storage_{};
    socklen_t size_ = 0;
};

/// A new socket (SOCK_STREAM: TCP or Unix; SOCK_DGRAM: UDP), close-on-exec. Created
/// synchronously: socket(2) never blocks. @see socket(2)
inline unique_fd open_socket(int family, int type) {
    unique_fd fd(::socket(family, type | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    return fd;
}

/// Binds `fd` to `local` (after SO_REUSEADDR, and SO_REUSEPORT if asked) and, for a stream socket,
/// listens. Errors name the address. @see bind(2), listen(2), socket(7) SO_REUSEPORT
template <class Endpoint>
void bind_socket(int fd, const Endpoint& local, bool reuse_address, bool reuse_port, int backlog) {
    const int on = 1;
    if (reuse_address && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
        throw_errno("setsockopt(SO_REUSEADDR)", [&] { return local.to_string(); });
    }
    if (reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
        throw_errno("setsockopt(SO_REUSEPORT)", [&] { return local.to_string(); });
    }
    if (::bind(fd, local.data(), local.size()) != 0) throw_errno("bind", [&] { return local.to_string(); });
    if (backlog >= 0 && ::listen(fd, backlog) != 0) throw_errno("listen", [&] { return local.to_string(); });
}

/// A socket address of `fd`: getsockname(2) or getpeername(2).
inline endpoint socket_name(int fd, int (*call)(int, sockaddr*, socklen_t*), const char* what) {
    sockaddr_storage storage{};
    socklen_t size = sizeof storage;
    if (call(fd, reinterpret_cast<sockaddr*>(&storage), &size) != 0) throw_errno(what);
    return endpoint(reinterpret_cast<const sockaddr*>(&storage), size);
}

/// What `from_fd` accepts: a socket of `type` (SOCK_STREAM, SOCK_DGRAM) in `family` (AF_INET for
/// "IPv4 or IPv6", or AF_UNIX), listening or not. Anything else is an error naming the descriptor
/// and what it is instead; the descriptor is left open (the caller still owns it).
/// @see getsockopt(2), socket(7) SO_TYPE SO_DOMAIN SO_ACCEPTCONN
inline void check_adopted_socket(int fd, const char* who, int type, int family, bool listening) {
    const std::string name = std::string(who) + "(" + std::to_string(fd) + ")";
    const auto option = [&](int which) {
        int value = 0;
        socklen_t size = sizeof value;
        if (::getsockopt(fd, SOL_SOCKET, which, &value, &size) != 0) throw_errno(name);
        return value;
    };
    const int actual_type = option(SO_TYPE);  // ENOTSOCK for a file or a pipe, EBADF for no descriptor
    const int actual_family = option(SO_DOMAIN);
    const bool family_ok = family == AF_UNIX ? actual_family == AF_UNIX : (actual_family == AF_INET || actual_family == AF_INET6);
    const char* wanted = type == SOCK_DGRAM ? "a UDP socket"
                         : family == AF_UNIX ? (listening ? "a listening Unix-domain stream socket" : "a connected Unix-domain stream socket")
                                             : (listening ? "a listening TCP socket" : "a connected TCP socket");
    if (actual_type != type || !family_ok) {
        throw std::invalid_argument(name + ": not " + wanted + " (" +
                                    (actual_family == AF_UNIX ? "Unix-domain " : actual_family == AF_INET || actual_family == AF_INET6 ? "IP " : "other ") +
                                    (actual_type == SOCK_STREAM ? "stream" : actual_type == SOCK_DGRAM ? "datagram" : "other") + " socket)");
    }
    if (type == SOCK_STREAM && (option(SO_ACCEPTCONN) != 0) != listening) {
        throw std::invalid_argument(name + ": not " + wanted + (listening ? " (it does not listen)" : " (it listens: adopt it as a listener)"));
    }
    // An adopted number may have been closed behind the backend's back before (by its previous
    // owner): the epoll backend must not take it for registered (see forget_descriptor).
    forget_descriptor(fd);
}


/// TCP_NODELAY on (asyncio does the same for every TCP transport): a request written in pieces is
/// not held back by Nagle's algorithm waiting for the peer's delayed ACK.
inline void set_nodelay(int fd, bool on) {
    const int value = on ? 1 : 0;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) != 0) throw_errno("setsockopt(TCP_NODELAY)");
}

// --- operations (each names its man page) -------------------------------------------------------

/// One recv(2): bytes received, 0 at end of stream. @see recv(2), io_uring_prep_recv(3)
inline auto recv_some(int fd, std::span<std::byte> buffer) noexcept {
    return make_io_size_awaitable(
        "recv", {.code = io_code::recv, .fd = fd, .size = io_chunk(buffer.size()), .data = buffer.data()});
}

/// One send(2) with MSG_NOSIGNAL: a peer that is gone gives EPIPE, never SIGPIPE.
/// @see send(2), io_uring_prep_send(3)
inline auto send_some(int fd, std::span<const std::byte> buffer) noexcept {
    return make_io_size_awaitable("send", {.code = io_code::send,
                                                   .fd = fd,
                                                   .flags = MSG_NOSIGNAL,
                                                   .size = io_chunk(buffer.size()),
                                                   .data = const_cast<std::byte*>(buffer.data())});
}

/// Linux takes at most IOV_MAX (1024) buffers in one gathered send; more are sent by the next call.
inline constexpr std::size_t max_iovecs = 1024;

/// One sendmsg(2) of several buffers (a gathered write) with MSG_NOSIGNAL: `co_await` yields the
/// bytes sent. sendmsg rather than writev (IORING_OP_WRITEV): on a socket whose peer is gone writev
/// raises SIGPIPE, and a library must not kill its host process. @see sendmsg(2),
/// io_uring_prep_sendmsg(3)
///
/// TRICKY (lifetime): the request points at the msghdr, so the msghdr lives beside the op, in this
/// awaitable, and the pointer is taken only in await_suspend: the awaitable may be moved before it
/// is awaited (wait_for, the combinators), never after, and it sits in the awaiting coroutine's
/// frame until the op has completed, also when cancelled. The iovecs are the caller's.
class send_vectored_awaitable {
public:
    send_vectored_awaitable(int fd, std::span<const iovec> buffers) noexcept
        : op_("sendmsg", {.code = io_code::sendmsg, .fd = fd, .flags = MSG_NOSIGNAL}) {
        message_.msg_iov = const_cast<iovec*>(buffers.data());  // sendmsg reads them only
        message_.msg_iovlen = std::min(buffers.size(), max_iovecs);
    }

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        op_.request.data = &message_;
        return op_.await_suspend(waiter);
    }
    std::size_t await_resume() const { return static_cast<std::size_t>(op_.await_resume()); }

private:
    msghdr message_{};
    io_awaitable op_;
};

/// See send_vectored_awaitable.
inline send_vectored_awaitable send_vectored(int fd, std::span<const iovec> buffers) noexcept {
    return send_vectored_awaitable(fd, buffers);
}

/// Receives until `buffer` is full or the stream ends; the bytes received.
template <class = void>
task<std::size_t> recv_exact(int fd, std::span<std::byte> buffer) {
    return read_until_full(buffer, [fd](std::span<std::byte> rest, std::size_t) { return recv_some(fd, rest); });
}

/// Sends all of `data`, continuing short sends; a send of nothing is EIO.
template <class = void>
task<void> send_all(int fd, std::span<const std::byte> data) {
    return write_until_done(
        data, [fd](std::span<const std::byte> rest, std::size_t) { return send_some(fd, rest); }, "send");
}

/// accept(2) errors that mean "no descriptor or memory for the new connection right now": the
/// connection stays queued, and retrying at once would spin.
[[nodiscard]] inline bool accept_out_of_resources(int error) noexcept {
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

/// accept(2) errors that belong to one pending connection (it was aborted, or Linux passed on its
/// network error, see accept(2) "Error handling"): that connection is gone, try the next at once.
[[nodiscard]] inline bool accept_connection_error(int error) noexcept {
    switch (error) {
        case ECONNABORTED:
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case ENETUNREACH:
        case EINTR:
            return true;
        default:
            return false;
    }
}

inline constexpr std::chrono::milliseconds accept_backoff_first{10};
inline constexpr std::chrono::milliseconds accept_backoff_max{1000};

/// Accepts one connection on `listen_fd` as a `Stream` (constructed from the adopted descriptor).
/// Out of descriptors (the accept storm), it sleeps 10 ms, 20 ms, ... up to 1 s between attempts
/// and counts each wait in `*backoffs`; the sleeps are cancellation points like the accept.
/// @see accept4(2), io_uring_prep_accept(3)
///
/// TRICKY (no descriptor leak on cancel): an accept that completes after the task was cancelled
/// delivers its descriptor (io_awaitable discards no result). It is wrapped in a Stream at once,
/// with no suspension in between, so the caller owns it, and the pending cancel arrives at the
/// caller's next suspension, where unwinding closes the stream. That is also why this is a template
/// over the stream type (tcp_stream and unix_stream) rather than a function returning a descriptor.
template <class Stream>
task<Stream> accept_stream(int listen_fd, std::uint64_t* backoffs) {
    std::chrono::milliseconds backoff = accept_backoff_first;
    for (;;) {
        int error = 0;
        try {
            const int fd = co_await make_io_awaitable(
                "accept", {.code = io_code::accept, .fd = listen_fd, .flags = SOCK_CLOEXEC});
            Stream stream(fd);
            if constexpr (requires { stream.set_nodelay(true); }) {
                try {
                    set_nodelay(fd, true);
                } catch (const std::system_error&) {
                    // Best effort: the connection may already be reset; the first read will say so.
                }
            }
            co_return stream;
        } catch (const std::system_error& failure) {
            error = failure.code().value();  // an errno: io_awaitable throws system_category codes only
            if (!accept_out_of_resources(error) && !accept_connection_error(error)) throw;
        }
        if (accept_out_of_resources(error)) {
            if (backoffs != nullptr) ++*backoffs;
            co_await sleep_for(backoff);
            backoff = std::min(backoff * 2, accept_backoff_max);
        }
    }
}

/// A new socket connected to `remote` (an endpoint, copied into this frame), as a `Stream`. One
/// instantiation per socket kind: tcp_stream with endpoint, unix_stream with unix_address.
/// @see connect(2), io_uring_prep_connect(3)
template <class Stream, class Endpoint>
task<Stream> connect_stream(Endpoint remote) {
    Stream stream(open_socket(remote.family(), SOCK_STREAM).release());
    const int fd = stream.native_handle();
    co_await naming_failure(make_io_awaitable("connect", {.code = io_code::connect,
                                                          .fd = fd,
                                                          .address = remote.data(),
                                                          .address_size = remote.size()}),
                            "connect", [&remote] { return remote.to_string(); });
    if constexpr (requires { stream.set_nodelay(true); }) set_nodelay(fd, true);
    co_return stream;
}

// --- datagrams ---------------------------------------------------------------------------------

/// Sends one datagram of `data` to `to` and yields the bytes sent. Errors name `to`.
/// @see sendmsg(2), io_uring_prep_sendmsg(3)
///
/// TRICKY (lifetime): the msghdr, the iovec and the address (`to`, a parameter) live in this
/// coroutine's frame, which waits for the op's own completion, also when cancelled.
template <class Endpoint>
task<std::size_t> send_datagram(int fd, std::span<const std::byte> data, Endpoint to) {
    iovec io{const_cast<std::byte*>(data.data()), data.size()};  // sendmsg only reads it
    msghdr message{};
    message.msg_name = const_cast<sockaddr*>(to.data());
    message.msg_namelen = to.size();
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    const int sent = co_await naming_failure(
        make_io_awaitable("send_to", {.code = io_code::sendmsg, .fd = fd, .flags = MSG_NOSIGNAL, .data = &message}),
        "send_to", [&to] { return to.to_string(); });
    co_return static_cast<std::size_t>(sent);
}

/// Receives one datagram into `buffer`: a `Datagram{size, sender, truncated}`; `truncated` when
/// the datagram was longer than the buffer (the rest is discarded, as recvmsg does).
/// @see recvmsg(2), io_uring_prep_recvmsg(3)
template <class Datagram, class Endpoint>
task<Datagram> receive_datagram(int fd, std::span<std::byte> buffer) {
    sockaddr_storage sender{};
    iovec io{buffer.data(), buffer.size()};
    msghdr message{};
    message.msg_name = &sender;
    message.msg_namelen = sizeof sender;
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    const int n = co_await make_io_awaitable("receive_from", {.code = io_code::recvmsg, .fd = fd, .data = &message});
    co_return Datagram{static_cast<std::size_t>(n), Endpoint(reinterpret_cast<const sockaddr*>(&sender), message.msg_namelen),
                       (message.msg_flags & MSG_TRUNC) != 0};
}

// --- name resolution -----------------------------------------------------------------------------

/// getaddrinfo(3)'s EAI_* codes as error codes; the message is gai_strerror's.
class gai_error_category final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "getaddrinfo"; }
    [[nodiscard]] std::string message(int code) const override { return ::gai_strerror(code); }
};

[[nodiscard]] inline const std::error_category& gai_category() noexcept {
    static const gai_error_category category;
    return category;
}

/// The TCP endpoints of `host`, in getaddrinfo's order, duplicates dropped. Blocking: runs on a
/// worker thread. @see getaddrinfo(3)
inline std::vector<endpoint> resolve_blocking(std::string host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    const std::string service = std::to_string(port);
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    if (rc == EAI_SYSTEM) throw_errno("getaddrinfo", host);
    if (rc != 0) throw os_error(std::error_code(rc, gai_category()), "getaddrinfo", host);
    const std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(list, ::freeaddrinfo);
    std::vector<endpoint> endpoints;
    for (const addrinfo* entry = list; entry != nullptr; entry = entry->ai_next) {
        if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6) continue;
        const endpoint found(entry->ai_addr, entry->ai_addrlen);
        if (std::find(endpoints.begin(), endpoints.end(), found) == endpoints.end()) endpoints.push_back(found);
    }
    return endpoints;
}

/// A numeric address at once (no thread); a name through getaddrinfo on the loop's to_thread
/// pool. A cancelled lookup that already runs finishes on its thread first (see to_thread).
/// A template only so that g++ 12 compiles the coroutine where it is called (see detail/file.hpp).
template <class = void>
task<std::vector<endpoint>> resolve_endpoints(std::string host, std::uint16_t port) {
    sockaddr_storage storage{};
    if (const socklen_t size = try_parse_ip(host, port, storage); size != 0) {
        co_return std::vector<endpoint>{endpoint(reinterpret_cast<const sockaddr*>(&storage), size)};
    }
    co_return co_await to_thread(&resolve_blocking, std::move(host), port);
}

/// Connects to the first of `host`'s endpoints that accepts, trying them in turn; the last
/// endpoint's error when none does.
template <class Stream>
task<Stream> connect_host(std::string host, std::uint16_t port) {
    const std::vector<endpoint> candidates = co_await resolve_endpoints(host, port);
    std::exception_ptr last_error;
    for (const endpoint& candidate : candidates) {
        try {
            co_return co_await connect_stream<Stream>(candidate);
        } catch (const std::system_error&) {
            last_error = std::current_exception();
        }
    }
    if (last_error) std::rethrow_exception(last_error);
    throw os_error(std::error_code(EAI_NONAME, gai_category()), "connect", host);
}

}  // namespace sluice::detail

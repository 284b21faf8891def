#pragma once
// A peer program for a test (a Python server, nginx, curl): started with fork/exec, its standard
// output read line by line through a pipe (servers print their port first), stopped with SIGTERM
// and reaped when the object is destroyed. Blocking calls: use them before or between the awaits
// of a test body, never while the test relies on the loop making progress.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace sluice_test {

class peer_process {
public:
    /// Starts `argv[0]` with `argv` (stdin: /dev/null; stdout: a pipe to us; stderr: ours).
    explicit peer_process(std::vector<std::string> argv) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        pid_ = ::fork();
        if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
        if (pid_ == 0) {
            ::dup2(fds[1], 1);
            const int null = ::open("/dev/null", O_RDONLY);
            ::dup2(null, 0);
            std::vector<char*> args;
            for (auto& a : argv) args.push_back(a.data());
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            std::perror(args[0]);
            ::_exit(127);
        }
        ::close(fds[1]);
        out_ = fds[0];
    }
    peer_process(const peer_process&) = delete;
    peer_process& operator=(const peer_process&) = delete;
    ~peer_process() { stop(); }

    /// The next line of the peer's standard output (without the newline); throws at end of output.
    std::string read_line() {
        std::string line;
        for (char c;;) {
            const ssize_t n = ::read(out_, &c, 1);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error("peer_process: the peer ended its output (did it fail to start?)");
            if (c == '\n') return line;
            line += c;
        }
    }

    /// Everything the peer still writes to standard output, until it exits; then its exit status.
    std::pair<std::string, int> finish() {
        std::string rest;
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::read(out_, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            rest.append(buffer, static_cast<std::size_t>(n));
        }
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return {rest, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
    }

    /// SIGTERM, then reaps it (no effect once finished).
    void stop() noexcept {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
            pid_ = -1;
        }
        if (out_ >= 0) ::close(std::exchange(out_, -1));
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
};

/// A directory made for this test process and removed (with its files) at exit.
inline const std::string& scratch_directory() {
    static const std::string path = [] {
        std::string pattern = "/tmp/sluice-http-test-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
        static std::string removal = "rm -rf '" + pattern + "'";
        std::atexit([] { [[maybe_unused]] int ignored = std::system(removal.c_str()); });
        return pattern;
    }();
    return path;
}

/// Runs a shell command; throws if it fails.
inline void run_command(const std::string& command) {
    if (std::system(command.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

/// A self-signed certificate for "localhost" and 127.0.0.1 (EC P-256, made once per process with
/// openssl req -x509) and its key: {certificate file, key file}. `name` picks another pair (a
/// second, untrusted certificate).
inline std::pair<std::string, std::string> test_certificate(const std::string& openssl, const std::string& name = "server") {
    const std::string certificate = scratch_directory() + "/" + name + ".crt";
    const std::string key = scratch_directory() + "/" + name + ".key";
    if (::access(certificate.c_str(), R_OK) != 0) {
        run_command(openssl + " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost"
                    " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key + " -out " + certificate + " 2>/dev/null");
    }
    return {certificate, key};
}

}  // namespace sluice_test

// no_io_uring PROGRAM [ARGS...]: runs PROGRAM where io_uring is blocked the way container runtimes
// block it. Docker's, Podman's and Kubernetes' default seccomp profiles make io_uring_setup fail
// with EPERM; this launcher installs the same rule (a seccomp BPF filter: io_uring_setup,
// io_uring_enter and io_uring_register return EPERM, everything else is allowed), then execs
// PROGRAM, which inherits the filter. Used by CTest and .ci/run to prove that sluice falls back to
// epoll by itself. @see seccomp(2), prctl(2) PR_SET_NO_NEW_PRIVS

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: no_io_uring PROGRAM [ARGS...]\n");
        return 2;
    }
    const unsigned deny = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
    sock_filter filter[] = {
        // Another architecture's system call numbers mean something else: let them through.
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, deny),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        std::perror("no_io_uring: prctl(PR_SET_NO_NEW_PRIVS)");
        return 126;
    }
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) {
        std::perror("no_io_uring: prctl(PR_SET_SECCOMP)");
        return 126;
    }
    ::execvp(argv[1], argv + 1);
    std::fprintf(stderr, "no_io_uring: cannot run %s: %s\n", argv[1], std::strerror(errno));
    return 127;
}

#pragma once
// Command lines of the examples, with Python argparse's conventions: `-h`/`--help` prints the help
// to stdout and exits 0; a bad argument prints one line to stderr naming the argument and what is
// wrong with it, and exits 2:
//
//     flags: error: argument -m/--max_req: invalid value '0': expected an integer in 1..1000
//     flags: error: unrecognized argument '--nope'
//
// An example's main() reads:
//
//     options opts;
//     if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
//             if (line.is("-m", "--max_req")) opts.max_req = line.integer(1, 1000);
//             else if (line.is_option()) line.unrecognized();
//             else opts.codes.push_back(line.positional("CC"));
//         })) {
//         return *exit_status;
//     }
//
// The callback sees one word at a time (an option with its value, or a positional); `parse` loops.
// Also here: the option values several examples share, `--scale FACTOR` (multiplies every sleep)
// and `-s/--seed SEED` (names the random streams), with one set of rules: the whole word must be
// the number, a scale is finite and >= 0 (NaN refused), a seed fits 32 bits and is not negative.

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

/// Parses a sleep scale into `out`; false (out unspecified) on anything else.
inline bool parse_scale(const char* text, double& out) {
    if (text == nullptr || *text == '\0') return false;
    char* end = nullptr;
    errno = 0;
    out = std::strtod(text, &end);
    return *end == '\0' && errno == 0 && out >= 0 && std::isfinite(out);
}

/// Parses a random seed into `out`; false (out unchanged) on anything else.
inline bool parse_seed(const char* text, std::uint32_t& out) {
    if (text == nullptr || *text == '\0' || *text == '-') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*end != '\0' || errno != 0 || value > UINT32_MAX) return false;
    out = static_cast<std::uint32_t>(value);
    return true;
}

namespace args {

/// A wrong command line; what() is the one line after "PROGRAM: error: ".
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// `-h` or `--help` was given: print the help and exit 0.
struct help_requested {};

/// The words of argv, one at a time, for an example's parse callback (see the top of this file).
class command_line {
public:
    command_line(int argc, char** argv) noexcept : argc_(argc), argv_(argv) {}

    /// Moves to the next word; false when there is none. `-h`/`--help` throws help_requested.
    bool next() {
        ++index_;
        name_.clear();
        if (index_ >= argc_) return false;
        const std::string_view now = argv_[index_];
        if (now == "-h" || now == "--help") throw help_requested{};
        return true;
    }

    /// The current word as typed.
    [[nodiscard]] std::string_view word() const noexcept { return argv_[index_]; }

    /// Whether the current word looks like an option (`-x`, `--long`), not a value or a positional
    /// (a negative number such as `-3` is a positional, as in argparse).
    [[nodiscard]] bool is_option() const noexcept {
        const std::string_view now = word();
        return now.size() > 1 && now[0] == '-' && !(now[1] >= '0' && now[1] <= '9');
    }

    /// Whether the current word is the option spelt `short_name` or `long_name` (either may be
    /// empty; `--long=value` counts too). If so, later errors name it "short_name/long_name".
    bool is(std::string_view short_name, std::string_view long_name) {
        const std::string_view now = word();
        const std::string_view before_equals = now.substr(0, now.find('='));
        const bool matched = (!short_name.empty() && now == short_name) ||
                             (!long_name.empty() && (now == long_name || (before_equals == long_name &&
                                                                          now.size() > long_name.size())));
        if (matched) {
            name_ = "argument ";
            name_ += short_name;
            if (!short_name.empty() && !long_name.empty()) name_ += '/';
            name_ += long_name;
        }
        return matched;
    }

    /// The current word is the positional argument `name` (named so in errors); yields it.
    std::string_view positional(std::string_view name) {
        name_ = "argument ";
        name_ += name;
        return word();
    }

    /// The matched option's value: the text after '=' or the next word (consumed).
    std::string_view value() {
        if (!name_.starts_with("argument -")) return word();  // a positional is its own value
        const std::string_view now = word();
        const std::size_t equals = now.find('=');
        if (now.starts_with("--") && equals != std::string_view::npos) return now.substr(equals + 1);
        if (index_ + 1 >= argc_) throw usage_error(name_ + ": expected a value");
        return argv_[++index_];
    }

    /// The value as a decimal integer in [low, high].
    long long integer(long long low, long long high) {
        const std::string text(value());
        char* end = nullptr;
        errno = 0;
        const long long number = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || errno != 0 || number < low || number > high) {
            std::string expected = "an integer ";
            if (high == std::numeric_limits<long long>::max()) {
                expected += ">= " + std::to_string(low);
            } else {
                expected += "in " + std::to_string(low) + ".." + std::to_string(high);
            }
            bad_value(text, expected);
        }
        return number;
    }

    /// The value as a sleep scale (parse_scale's rules).
    double scale() {
        const std::string text(value());
        double number = 0;
        if (!parse_scale(text.c_str(), number)) bad_value(text, "a finite number >= 0");
        return number;
    }

    /// The value as a 32-bit seed (parse_seed's rules).
    std::uint32_t seed() {
        const std::string text(value());
        std::uint32_t number = 0;
        if (!parse_seed(text.c_str(), number)) bad_value(text, "an integer in 0..4294967295");
        return number;
    }

    /// The value when it is one of `choices` ("plain|delay|error"); its index there.
    std::size_t choice(std::string_view choices) {
        const std::string text(value());
        std::size_t index = 0;
        for (std::size_t start = 0;; ++index) {
            const std::size_t bar = choices.find('|', start);
            if (choices.substr(start, bar - start) == text) return index;
            if (bar == std::string_view::npos) break;
            start = bar + 1;
        }
        std::string expected = "one of ";
        expected += choices;
        bad_value(text, expected);
    }

    /// Fails for the current argument's `text`, which is not `expected`.
    [[noreturn]] void bad_value(std::string_view text, std::string_view expected) const {
        std::string what = name_ + ": invalid value '";
        what.append(text);
        what += "': expected ";
        what.append(expected);
        throw usage_error(what);
    }

    /// Fails for the current argument, which is not allowed `why` ("not allowed with -a/--all").
    [[noreturn]] void not_allowed(std::string_view why) const {
        throw usage_error(name_ + ": " + std::string(why));
    }

    /// Fails for the current word, which no rule accepts.
    [[noreturn]] void unrecognized() const {
        throw usage_error("unrecognized argument '" + std::string(word()) + "'");
    }

private:
    int argc_;
    char** argv_;
    int index_ = 0;
    std::string name_;  // "argument -m/--max_req" once matched; empty for an unmatched word
};

/// The options of the seeded examples, `-s/--seed SEED` and `--scale FACTOR`: true when the
/// current word was one of them (and its value went into `seed` or `scale`).
inline bool seed_or_scale(command_line& line, std::uint32_t& seed, double& scale) {
    if (line.is("-s", "--seed")) {
        seed = line.seed();
    } else if (line.is("", "--scale")) {
        scale = line.scale();
    } else {
        return false;
    }
    return true;
}

/// The program's name in messages: argv[0] without its directory.
[[nodiscard]] inline std::string_view program_name(char** argv) noexcept {
    const std::string_view path = argv[0] != nullptr ? argv[0] : "example";
    return path.substr(path.rfind('/') + 1);
}

/// Prints "PROGRAM: error: <what>" to stderr; yields 2, the exit status of a bad command line. Also
/// for checks after the loop ("-a and -e together").
[[nodiscard]] inline int usage_failure(char** argv, std::string_view what) {
    const std::string_view program = program_name(argv);
    std::fprintf(stderr, "%.*s: error: %.*s\n", static_cast<int>(program.size()), program.data(),
                 static_cast<int>(what.size()), what.data());
    return 2;
}

/// Runs `each(line)` for every word of argv (the callback may consume the option's value). nullopt
/// when the command line is good; otherwise the exit status, after printing `help` to stdout (0)
/// or "PROGRAM: error: <what>" to stderr (2). `help` starts with the usage line.
template <class Each>
[[nodiscard]] std::optional<int> parse(int argc, char** argv, const char* help, Each each) {
    command_line line(argc, argv);
    try {
        while (line.next()) each(line);
        return std::nullopt;
    } catch (const help_requested&) {
        std::fputs(help, stdout);
        return 0;
    } catch (const usage_error& error) {
        return usage_failure(argv, error.what());
    }
}

}  // namespace args

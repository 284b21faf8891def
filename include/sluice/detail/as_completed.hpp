#pragma once
// The range limited_as_completed and as_completed return (sluice/as_completed.hpp): an input range
// over the bounded engine whose elements are awaited for the next result.

#include <cstddef>
#include <iterator>
#include <utility>

#include "bounded_engine.hpp"

namespace sluice::detail {

template <class Source>
class completion_range {
    using engine_type = bounded_engine<Source>;

public:
    using value_type = typename engine_type::value_type;

    completion_range(Source&& source, engine_options options) : engine_(std::forward<Source>(source), std::move(options)) {}

    /// `co_await` yields the next finished result or rethrows that item's exception.
    class next_result {
    public:
        explicit next_result(engine_type& engine) noexcept : engine_(&engine) {}

        auto operator co_await() const noexcept {
            struct awaiter : engine_type::next_awaiter {
                using engine_type::next_awaiter::next_awaiter;
                decltype(auto) await_resume() {
                    this->throw_if_cancelled();
                    return this->engine_.take_next_value("sluice: awaiting a result past the end of limited_as_completed");
                }
            };
            return awaiter(*engine_);
        }

    private:
        engine_type* engine_;
    };

    class iterator {
    public:
        using value_type = next_result;
        using difference_type = std::ptrdiff_t;

        iterator() noexcept = default;
        explicit iterator(engine_type& engine) noexcept : engine_(&engine) {}
        next_result operator*() const noexcept { return next_result(*engine_); }
        iterator& operator++() noexcept { return *this; }
        void operator++(int) noexcept {}
        friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.engine_->exhausted(); }

    private:
        engine_type* engine_ = nullptr;
    };

    iterator begin() noexcept { return iterator(*engine_); }
    std::default_sentinel_t end() const noexcept { return {}; }

    /// Cancels what runs, waits until it finished, drops unconsumed results; the range then ends.
    auto close() noexcept { return engine_->close(); }

private:
    engine_handle<Source> engine_;
};

}  // namespace sluice::detail

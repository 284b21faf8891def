#pragma once
// igather's stream (sluice/igather.hpp): an async generator that hands out the bounded engine's
// results and, when it ends early (the consumer cancelled, the source failed), closes the engine
// before the exception leaves it.

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "../async_generator.hpp"
#include "bounded_engine.hpp"

namespace sluice::detail {

template <class Source, bool Collect>
using igather_yield_t = std::conditional_t<Collect, result<typename bounded_engine<Source>::value_type>,
                                           monostate_if_void_t<typename bounded_engine<Source>::value_type>>;

template <class Source, bool Collect>
async_generator<igather_yield_t<Source, Collect>> igather_stream(engine_handle<Source> engine) {
    using value_type = typename bounded_engine<Source>::value_type;
    std::exception_ptr error;
    try {
        while (auto delivery = co_await engine->next()) {
            if constexpr (Collect) {
                co_yield std::move(delivery->value);
            } else if constexpr (std::is_void_v<value_type>) {
                delivery->value.value();
                co_yield std::monostate{};
            } else {
                co_yield std::move(delivery->value).value();
            }
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        // The consumer was cancelled, or the source failed: nothing may outlive the stream.
        co_await engine->close();
        std::rethrow_exception(error);
    }
}

}  // namespace sluice::detail

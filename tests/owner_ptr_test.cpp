// Tests of owner_ptr and shared_handle (reached through support/internals.hpp), the owning
// pointers that replace std::unique_ptr and std::shared_ptr on the loop's and the combinators' path
// (issue #10): each object is destroyed exactly once, by the last owner, through its base when owned
// as one, and a moved-from owner owns nothing.

#include <atomic>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "support/catch.hpp"
#include "support/counted.hpp"
#include "support/internals.hpp"

using sluice_test::make_owner;
using sluice_test::make_shared_handle;
using sluice_test::owner_ptr;
using sluice_test::shared_handle;
using sluice_test::counted;

namespace {

struct base {
    virtual ~base() = default;
    virtual int id() const = 0;
};

struct derived final : base {
    explicit derived(int value) : item(value) {}
    int id() const override { return item.id; }
    counted item;
};

struct throws_on_construction {
    explicit throws_on_construction(int /*unused*/) { throw std::runtime_error("refused"); }
};

}  // namespace

TEST_CASE("owner_ptr deletes its object once, through its base, and a moved-from owner owns nothing") {
    counted::reset();
    {
        owner_ptr<base> owner = make_owner<derived>(7);  // the converting move, as make_backend's
        REQUIRE(owner != nullptr);
        REQUIRE(owner->id() == 7);
        REQUIRE(counted::alive() == 1);

        owner_ptr<base> moved(std::move(owner));
        REQUIRE(owner == nullptr);  // NOLINT(bugprone-use-after-move): the state after a move is the point
        REQUIRE(static_cast<bool>(moved));
        REQUIRE((*moved).id() == 7);

        owner_ptr<base> other = make_owner<derived>(8);
        other = std::move(moved);  // deletes 8, takes 7
        REQUIRE(counted::alive() == 1);
        REQUIRE(other->id() == 7);
        REQUIRE(moved == nullptr);  // NOLINT(bugprone-use-after-move)

        std::vector<owner_ptr<base>> owners;  // as the loop's service registry holds them
        for (int i = 0; i < 100; ++i) owners.push_back(make_owner<derived>(i));
        REQUIRE(counted::alive() == 101);
        owners.clear();
        REQUIRE(counted::alive() == 1);
    }
    REQUIRE(counted::alive() == 0);
    REQUIRE(counted::constructions == 102);
}

TEST_CASE("owner_ptr: release hands the object over, a failed construction leaks nothing") {
    counted::reset();
    owner_ptr<counted> owner = make_owner<counted>(3);
    counted* raw = owner.release();
    REQUIRE(owner == nullptr);
    REQUIRE(counted::alive() == 1);
    delete raw;
    REQUIRE(counted::alive() == 0);
    REQUIRE_THROWS_AS(make_owner<throws_on_construction>(1), std::runtime_error);
}

TEST_CASE("shared_handle: the last copy deletes the object, once") {
    counted::reset();
    shared_handle<counted> empty;
    REQUIRE(empty == nullptr);
    REQUIRE(empty.get() == nullptr);
    {
        shared_handle<counted> first = make_shared_handle<counted>(5);
        REQUIRE(first->id == 5);
        shared_handle<counted> second = first;
        REQUIRE(second.get() == first.get());
        shared_handle<counted> third = std::move(second);
        REQUIRE(second == nullptr);  // NOLINT(bugprone-use-after-move)
        REQUIRE(counted::alive() == 1);
        const shared_handle<counted>& alias = first;
        first = alias;  // self-assignment keeps it
        REQUIRE(first->id == 5);
        first = empty;
        REQUIRE(first == nullptr);
        REQUIRE(counted::alive() == 1);  // third still holds it
        REQUIRE((*third).id == 5);
    }
    REQUIRE(counted::alive() == 0);
    REQUIRE(counted::constructions == 1);
    REQUIRE_THROWS_AS(make_shared_handle<throws_on_construction>(1), std::runtime_error);
}

TEST_CASE("shared_handle: copies dropped on several threads delete the object once") {
    counted::reset();
    std::atomic<int> empty_copies{0};
    for (int round = 0; round < 50; ++round) {
        shared_handle<counted> original = make_shared_handle<counted>(round);
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([copy = original, &empty_copies] {
                for (int i = 0; i < 1000; ++i) {
                    const shared_handle<counted> more = copy;
                    if (more == nullptr) ++empty_copies;  // no REQUIRE off the main thread
                }
            });
        }
        original = nullptr;
        for (std::thread& thread : threads) thread.join();
    }
    REQUIRE(empty_copies == 0);
    REQUIRE(counted::alive() == 0);
    REQUIRE(counted::constructions == 50);
}

#pragma once
// Machinery of sluice::task_group: the group's state (`group_core`), the membership node of each
// child, and the awaiter through which the scope runs the body.
//
// Members and who waits for whom:
//  - the body is a task run in the group's own cancel_context (`body_context_`), so the group can
//    cancel it without touching the task that awaits the scope; its promise's finish_listener is
//    the scope's `body_awaiter`, which reports to the core;
//  - each child is a loop root (what sluice::spawn makes, so run() tracks it) carrying a `member`
//    node as its root_observer: the node links the child into the group's list of live children
//    (to cancel them) and reports the child's end to the core;
//  - the scope coroutine is suspended in `body_awaiter` until the body *and* every child ended. The
//    last one to end resumes it: the body by symmetric transfer from its final suspend, a child by
//    scheduling it on the ready queue (the child's root still has its own joiner to hand over to).
//  - the core is registered as the awaiting task's cancellable wait: cancelling that task cancels
//    the body and every child, and the scope ends (with cancelled_error) once they all finished.
//
// Every cancel the group sends goes into a context of the group's own (the body's) or of a child
// root, never into the awaiting task's, so nothing leaks out of the scope.

#include <algorithm>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../task.hpp"
#include "awaitable_traits.hpp"
#include "cancellation.hpp"
#include "event_loop.hpp"
#include "frame_allocator.hpp"
#include "intrusive_list.hpp"
#include "is_cancelled.hpp"
#include "spawn.hpp"

namespace sluice::detail {

/// exception_group's what(): how many, and the first one's message.
[[nodiscard]] inline std::string describe_failures(const std::vector<std::exception_ptr>& failures) {
    std::string first = "a non-std exception";
    if (!failures.empty()) {
        try {
            std::rethrow_exception(failures.front());
        } catch (const std::exception& error) {
            first = error.what();
        } catch (...) {
        }
    }
    return "sluice: " + std::to_string(failures.size()) + " failures in a task_group; the first: " + first;
}

/// The group's body: the callable is invoked inside this coroutine, so it runs only once the scope
/// has started, in the body's own cancel context, and an exception it throws is a body failure.
template <class R, class Body, class Group>
task<R> invoke_body(Body& body, Group& group) {
    co_return co_await std::invoke(body, group);
}

class group_core final : public cancellation_point {
public:
    group_core() = default;
    group_core(const group_core&) = delete;
    group_core& operator=(const group_core&) = delete;
    /// The scope only ends once every child ended, and its frame is not destroyed before that.
    ~group_core() { assert(members_.empty()); }

    /// Starts `child` as a loop root on a later turn, watched by this group.
    template <class T>
    root_handle<T> spawn_child(task<T> child) {
        if (phase_ == phase::aborting) {
            throw std::logic_error(
                "sluice: task_group::spawn into a group that is shutting down (a member failed or the scope was "
                "cancelled)");
        }
        if (phase_ == phase::finished) throw std::logic_error("sluice: task_group::spawn into a group that has finished");
        event_loop& loop = event_loop::current();
        auto node = std::make_unique<member>(*this);
        root_handle<T> root = run_as_root(std::move(child)).handle;
        root.promise().observe(*node);
        root.promise().start(loop);
        link(*node.release(), root.promise());
        return root;
    }

    template <class R>
    class body_awaiter;
    /// What the scope awaits: runs `body` and resumes once the body and every child have ended.
    template <class R>
    [[nodiscard]] body_awaiter<R> run_body(task<R>& body) noexcept {
        return body_awaiter<R>(*this, body);
    }

    /// Every non-cancellation exception of a member, in order of occurrence, each object once.
    [[nodiscard]] const std::vector<std::exception_ptr>& failures() const noexcept { return failures_; }

    /// task_group::cancel(): cancels the body and every child from inside; later spawns are a
    /// logic_error. No effect once the group has finished.
    void cancel_from_inside() noexcept {
        if (phase_ == phase::finished) return;
        cancelled_from_inside_ = true;
        phase_ = phase::aborting;
        cancel_members();
    }
    [[nodiscard]] bool cancelled_from_inside() const noexcept { return cancelled_from_inside_; }

    /// After the scope: if the awaiting task was cancelled while the scope ran (and no failure
    /// outranks that), the request is delivered now, as cancelled_error, and so consumed.
    void throw_if_cancelled_from_outside() {
        if (!cancelled_from_outside_) return;
        finish_cancelled();
        throw_if_cancelled();
    }

private:
    enum class phase : unsigned char { open, aborting, finished };

    /// A live child's membership: a node in the group's list and the child root's observer.
    /// Allocated per child (from the frame allocator's free lists) and freed when the child ends.
    struct member final : root_observer, recycled_frame {
        explicit member(group_core& owner) noexcept : group(&owner) {}
        void root_finished(const std::exception_ptr& error) noexcept override { group->child_finished(*this, error); }

        group_core* group;
        root_node* root = nullptr;
        list_links<member> links;
    };
    using member_list = intrusive_list<member, &member::links>;

    template <class Promise, class BodyPromise>
    bool start(std::coroutine_handle<Promise> waiter, std::coroutine_handle<BodyPromise> body,
               finish_listener& body_listener) {
        loop_ = &event_loop::current();
        if (!enter(waiter)) {
            // A cancel was pending: the body is never started (so no child exists either).
            phase_ = phase::finished;
            return false;
        }
        BodyPromise& promise = body.promise();
        promise.set_context(&body_context_);
        promise.set_listener(&body_listener);  // also marks the body as awaited
        // The body runs its first steps here (resume_nested: if it ends before suspending, its
        // final suspend returns to us rather than to the waiter, which is still inside this
        // await_suspend). Children cannot end meanwhile: they start on later loop turns.
        (void)resume_nested(body);
        if (!all_done()) return true;
        end();
        return false;
    }

    void throw_if_cancelled_before_start() const {
        if (phase_ == phase::finished && !body_done_) throw_if_cancelled();
    }

    /// The body reached its final suspend: returns whom to transfer to.
    std::coroutine_handle<> body_finished(const std::exception_ptr& error) noexcept {
        body_done_ = true;
        note_end(error);
        if (!all_done()) return std::noop_coroutine();
        end();
        return waiter_;  // ignored when the body ended inside start(), which then goes on itself
    }

    /// Called from the child root's final suspend (see root_observer).
    /// TRICKY: the waiter is scheduled, not transferred to: the root may still have a joiner (a
    /// task awaiting the child's join_handle) to transfer to, or its own frame to free. Scheduling
    /// also keeps the order safe: the scope (and with it this core) can only end after the root's
    /// final suspend has returned to the loop, so neither touches the other after this call. A
    /// join_handle of the child may outlive the scope: the root no longer points at the group.
    void child_finished(member& node, const std::exception_ptr& error) noexcept {
        members_.remove(node);
        delete &node;
        note_end(error);
        if (!all_done()) return;
        end();
        loop_->schedule(waiter_);
    }

    /// Records a failure (the first one cancels every other member).
    void note_end(const std::exception_ptr& error) noexcept {
        if (!error || is_cancelled_error(error)) return;
        // The same exception object can end two members: a child's error rethrown by the body
        // awaiting the child's join_handle. It is one failure.
        if (std::find(failures_.begin(), failures_.end(), error) == failures_.end()) failures_.push_back(error);
        if (phase_ == phase::open) {
            phase_ = phase::aborting;
            cancel_members();
        }
    }

    /// The awaiting task was cancelled: cancel the body and every child; the scope ends with
    /// cancelled_error once they all ended (unless a failure outranks it).
    void cancel_wait() noexcept override {
        cancelled_from_outside_ = true;
        if (phase_ == phase::open) phase_ = phase::aborting;
        cancel_members();
    }

    /// TRICKY: iterating the list while cancelling is safe: a request never resumes anyone inline
    /// (cancellation protocol), so no child ends and no node is freed during the loop.
    void cancel_members() noexcept {
        if (!body_done_) body_context_.request_cancel();
        for (member* node = members_.front(); node != nullptr; node = members_.next_of(*node)) {
            node->root->request_cancel();
        }
    }

    [[nodiscard]] bool all_done() const noexcept { return body_done_ && members_.empty(); }

    /// Everything ended: spawning is now a logic_error, and a cancel of the awaiting task arriving
    /// from here on stays pending for that task's next real suspension.
    void end() noexcept {
        phase_ = phase::finished;
        finish_completed();
    }

    /// Appended, so that cancellations are requested in spawn order.
    void link(member& node, root_node& root) noexcept {
        node.root = &root;
        members_.push_back(node);
    }

    cancel_context body_context_;
    std::vector<std::exception_ptr> failures_;
    member_list members_;  // live children, oldest first
    event_loop* loop_ = nullptr;
    phase phase_ = phase::open;
    bool body_done_ = false;
    bool cancelled_from_outside_ = false;
    bool cancelled_from_inside_ = false;
};

/// The scope's awaiter: starts the body, is the body's finish listener, and ends the wait when the
/// whole group has ended. A cancellation point for the awaiting task (through the core).
template <class R>
class group_core::body_awaiter final : public finish_listener {
public:
    body_awaiter(group_core& core, task<R>& body) noexcept : core_(core), body_(body) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        return core_.start(waiter, body_.handle(), *this);
    }
    /// cancelled_error when a cancel was pending before the body could start.
    void await_resume() const { core_.throw_if_cancelled_before_start(); }

    std::coroutine_handle<> finished(std::coroutine_handle<> /*body*/) noexcept override {
        return core_.body_finished(body_.handle().promise().result_slot().error());
    }

private:
    group_core& core_;
    task<R>& body_;
};

}  // namespace sluice::detail

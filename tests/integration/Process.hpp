#pragma once

#include <uv.h>

#include <cppunit/extensions/HelperMacros.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "Loop.hpp"

namespace keel::test {

/// A child process driven by a Keel loop: its output is collected as it arrives, and the
/// test waits for events (a line appears, the process exits) with a deadline, never a sleep.
class Process {
public:
    Process(kernel::Loop& loop, std::vector<std::string> args, std::map<std::string, std::string> env = {})
        : loop_(loop) {
        uv_pipe_init(loop.uv(), &out_, 0);
        uv_pipe_init(loop.uv(), &err_, 0);
        out_.data = &stdout_;
        err_.data = &stderr_;
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> envText;
        for (char** e = environ; *e != nullptr; ++e) {
            std::string entry = *e;
            const std::string key = entry.substr(0, entry.find('='));
            if (!env.count(key)) envText.push_back(entry);
        }
        for (const auto& [k, v] : env)
            if (!v.empty()) envText.push_back(k + "=" + v);
        std::vector<char*> envp;
        for (auto& e : envText) envp.push_back(e.data());
        envp.push_back(nullptr);

        uv_stdio_container_t stdio[3];
        stdio[0].flags = UV_IGNORE;
        stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
        stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&out_);
        stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
        stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&err_);
        uv_process_options_t options{};
        options.file = argv[0];
        options.args = argv.data();
        options.env = envp.data();
        options.stdio = stdio;
        options.stdio_count = 3;
        options.exit_cb = [](uv_process_t* p, int64_t status, int signal) {
            auto* self = static_cast<Process*>(p->data);
            self->exited_ = true;
            self->status_ = static_cast<int>(status);
            self->signal_ = signal;
            uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
        };
        process_.data = this;
        const int rc = uv_spawn(loop.uv(), &process_, &options);
        if (rc != 0) CPPUNIT_FAIL(std::string("spawn ") + argv[0] + ": " + uv_strerror(rc));
        for (uv_pipe_t* pipe : {&out_, &err_}) {
            uv_read_start(
                reinterpret_cast<uv_stream_t*>(pipe),
                [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
                    buf->base = new char[suggested];
                    buf->len = suggested;
                },
                [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
                    if (n > 0) static_cast<std::string*>(stream->data)->append(buf->base, static_cast<size_t>(n));
                    delete[] buf->base;
                    if (n < 0) uv_close(reinterpret_cast<uv_handle_t*>(stream), nullptr);
                });
        }
    }

    ~Process() {
        if (!exited_) {
            uv_process_kill(&process_, SIGKILL);
            waitExit(5000);
        }
    }

    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    /// Runs the loop until `done()` holds; false when `deadlineMs` passed first.
    bool waitUntil(const std::function<bool()>& done, std::uint64_t deadlineMs) {
        if (done()) return true;
        bool timedOut = false;
        uv_check_t check{};
        uv_check_init(loop_.uv(), &check);
        struct State {
            const std::function<bool()>* done;
            kernel::Loop* loop;
        } state{&done, &loop_};
        check.data = &state;
        // Checked after every poll: after each read and each exit notification.
        uv_check_start(&check, [](uv_check_t* c) {
            auto* s = static_cast<State*>(c->data);
            if ((*s->done)()) s->loop->stop();
        });
        const auto guard = loop_.setTimeout(deadlineMs, [&] {
            timedOut = true;
            loop_.stop();
        });
        while (!done() && !timedOut) loop_.run();
        loop_.clearTimer(guard);
        uv_close(reinterpret_cast<uv_handle_t*>(&check), nullptr);
        uv_run(loop_.uv(), UV_RUN_NOWAIT);
        return done();
    }

    bool waitForOutput(const std::string& needle, std::uint64_t deadlineMs = 10000) {
        return waitUntil([&] { return stderr_.find(needle) != std::string::npos || stdout_.find(needle) != std::string::npos; },
                         deadlineMs);
    }

    /// Waits for the exit and for both pipes to reach end of file.
    bool waitExit(std::uint64_t deadlineMs = 10000) {
        return waitUntil([&] { return exited_ && uv_is_closing(reinterpret_cast<uv_handle_t*>(&out_)) &&
                                      uv_is_closing(reinterpret_cast<uv_handle_t*>(&err_)); },
                         deadlineMs);
    }

    void kill(int signum) { uv_process_kill(&process_, signum); }

    const std::string& out() const { return stdout_; }
    const std::string& err() const { return stderr_; }
    int status() const { return status_; }
    int signal() const { return signal_; }

private:
    kernel::Loop& loop_;
    uv_process_t process_{};
    uv_pipe_t out_{};
    uv_pipe_t err_{};
    std::string stdout_;
    std::string stderr_;
    bool exited_ = false;
    int status_ = -1;
    int signal_ = 0;
};

} // namespace keel::test

#pragma once

// Byte buffers for the connection's input and output, and the pool they come from. A busy
// connection borrows a buffer only while it has bytes to hold (a request head being read,
// a response not yet written), so an idle keep-alive connection holds none, and requests
// after the first reuse pooled memory instead of allocating. Loop thread only.

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include <keel/Text.hpp>

namespace keel::http {

/// A growable byte array with a read offset (what a partial write already sent).
class Buffer {
public:
    Buffer() = default;
    ~Buffer() { std::free(data_); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    char* data() { return data_ + begin_; }
    const char* data() const { return data_ + begin_; }
    std::size_t size() const { return end_ - begin_; }
    bool empty() const { return end_ == begin_; }
    std::size_t capacity() const { return capacity_; }
    std::string_view view() const { return {data_ + begin_, end_ - begin_}; }

    void clear() { begin_ = end_ = 0; }
    /// Clears and frees the memory.
    void release() {
        std::free(data_);
        data_ = nullptr;
        begin_ = end_ = capacity_ = 0;
    }
    /// Drops `n` bytes from the front (they were written or parsed).
    void consume(std::size_t n) {
        begin_ += n;
        if (begin_ >= end_) begin_ = end_ = 0;
    }
    /// Room for `n` more bytes at the end; returns where to write them (commit() after).
    char* reserve(std::size_t n) {
        if (begin_ != 0 && end_ + n > capacity_) {
            std::memmove(data_, data_ + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (end_ + n > capacity_) grow(end_ + n);
        return data_ + end_;
    }
    void commit(std::size_t n) { end_ += n; }
    void append(const void* bytes, std::size_t n) {
        if (n == 0) return;
        keel::copyBytes(reserve(n), bytes, n);
        end_ += n;
    }
    void append(std::string_view s) { append(s.data(), s.size()); }
    void push(char c) {
        if (end_ == capacity_) reserve(1);
        data_[end_++] = c;
    }
    /// Drops bytes from the end.
    void truncate(std::size_t size) { end_ = begin_ + size; }

private:
    void grow(std::size_t need) {
        std::size_t cap = capacity_ == 0 ? 1024 : capacity_ * 2;
        while (cap < need)
            cap *= 2;
        void* p = std::realloc(data_, cap);
        if (p == nullptr) throw std::bad_alloc();
        data_ = static_cast<char*>(p);
        capacity_ = cap;
    }

    char* data_ = nullptr;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t capacity_ = 0;
};

/// Free buffers kept for reuse; oversized ones (a big response) are freed, not kept.
class BufferPool {
public:
    BufferPool(std::size_t keep, std::size_t maxCapacity)
        : keep_(keep), maxCapacity_(maxCapacity) {}
    ~BufferPool() {
        for (Buffer* b : free_)
            delete b;
    }
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;

    Buffer* take() {
        if (free_.empty()) return new Buffer;
        Buffer* b = free_.back();
        free_.pop_back();
        return b;
    }
    void give(Buffer* b) {
        if (b == nullptr) return;
        if (free_.size() >= keep_ || b->capacity() > maxCapacity_) {
            delete b;
            return;
        }
        b->clear();
        free_.push_back(b);
    }
    std::size_t idle() const { return free_.size(); }

private:
    std::size_t keep_;
    std::size_t maxCapacity_;
    std::vector<Buffer*> free_;
};

} // namespace keel::http

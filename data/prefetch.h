// Background batch preparation: a worker thread runs a producer (load + augment) ahead of the
// consumer, holding at most `capacity` finished batches, so the next batch is ready when the
// current step ends. Order is preserved. An exception in the producer stops the worker and is
// rethrown by next() once the batches made before it have been consumed. The destructor stops
// and joins the worker (waiting for a batch in progress to finish).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/sampler.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

namespace dcodr::data {

template <class T>
class Prefetcher {
public:
    explicit Prefetcher(std::function<T()> produce, std::size_t capacity = 2)
        : produce_(std::move(produce)), capacity_(capacity) {
        DCODR_CHECK(capacity_ >= 1, "Prefetcher: capacity must be at least 1");
        worker_ = std::thread([this] { run(); });
    }
    ~Prefetcher() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        not_full_.notify_all();
        worker_.join();
    }
    Prefetcher(const Prefetcher&) = delete;
    Prefetcher& operator=(const Prefetcher&) = delete;

    // Blocks until the next item is ready; rethrows the producer's exception when it failed.
    T next() {
        std::unique_lock<std::mutex> lock(mutex_);
        not_empty_.wait(lock, [&] { return !queue_.empty() || error_; });
        if (queue_.empty()) std::rethrow_exception(error_);
        T item = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        not_full_.notify_one();
        return item;
    }

private:
    void run() {
        while (true) {
            {
                std::unique_lock<std::mutex> lock(mutex_);
                not_full_.wait(lock, [&] { return stop_ || queue_.size() < capacity_; });
                if (stop_) return;
            }
            try {
                T item = produce_();
                std::lock_guard<std::mutex> lock(mutex_);
                queue_.push_back(std::move(item));
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                error_ = std::current_exception();
                not_empty_.notify_all();
                return;
            }
            not_empty_.notify_one();
        }
    }

    std::function<T()> produce_;
    std::size_t capacity_;
    std::mutex mutex_;
    std::condition_variable not_empty_, not_full_;
    std::deque<T> queue_;
    std::exception_ptr error_;
    bool stop_ = false;
    std::thread worker_;
};

// One training step's inputs.
struct TrainBatch {
    DomainBatch batch;          // indices and domains (domain-major for the balanced samplers)
    Tensor images;              // float32 [B, C, H, W] in [0, 1], clean
    Tensor augmented;           // float32 [B, C, H, W], one positive view each (undefined without augmenter)
    // With an augmenter: [2B, C, H, W], images then augmented (those two are its halves): one
    // buffer to upload and to encode in one pass (nn::BatchStatsGroups).
    Tensor views;
    Tensor domains;             // int64 [B]
    std::int64_t step = 0;      // epoch * batches_per_epoch + position: also the augmentation step
    SamplerState state_after;   // the sampler state after this batch: what a checkpoint saves
};

// The producer for training: sampler -> load_batch -> augment. It owns its sampler (restore
// the sampler's state before constructing it to resume); because batches are made ahead,
// checkpoints must save TrainBatch::state_after of the last consumed batch, not the sampler's.
class TrainBatchSource {
public:
    // `dataset` and `augmenter` (may be null: no augmented view) must outlive the source.
    // threads > 0 sets the OpenMP thread count of the calling (worker) thread.
    TrainBatchSource(const Dataset& dataset, const BatchSampler& sampler, const Augmenter* augmenter,
                     ImageFormat format, int threads = 0);
    // Copies hold their own sampler (std::function copies its callable).
    TrainBatchSource(const TrainBatchSource& other);
    TrainBatchSource(TrainBatchSource&&) = default;
    TrainBatch operator()();
    const BatchSampler& sampler() const { return *sampler_; }

private:
    const Dataset& dataset_;
    std::unique_ptr<BatchSampler> sampler_;
    const Augmenter* augmenter_;
    ImageFormat format_;
    int threads_;
};

}  // namespace dcodr::data

#include "data/prefetch.h"

#include <omp.h>

namespace dcodr::data {

TrainBatchSource::TrainBatchSource(const Dataset& dataset, BalancedSampler sampler, const Augmenter* augmenter,
                                   ImageFormat format, int threads)
    : dataset_(dataset), sampler_(std::move(sampler)), augmenter_(augmenter), format_(format), threads_(threads) {}

TrainBatch TrainBatchSource::operator()() {
    // OpenMP thread counts are per thread: this sets the worker's, not the trainer's.
    if (threads_ > 0) omp_set_num_threads(threads_);
    TrainBatch out;
    out.batch = sampler_.next();
    out.step = out.batch.epoch * sampler_.batches_per_epoch() + out.batch.position;
    out.state_after = sampler_.state();
    out.images = load_batch(dataset_, out.batch.indices, format_);
    if (augmenter_) out.augmented = augmenter_->apply(out.images, static_cast<std::uint64_t>(out.step));
    out.domains = Tensor::from_vector(out.batch.domains, {static_cast<std::int64_t>(out.batch.domains.size())});
    return out;
}

}  // namespace dcodr::data

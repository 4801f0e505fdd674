#include "data/prefetch.h"

#include <omp.h>

#include <algorithm>

namespace dcodr::data {

TrainBatchSource::TrainBatchSource(const Dataset& dataset, const BatchSampler& sampler, const Augmenter* augmenter,
                                   ImageFormat format, int threads)
    : dataset_(dataset), sampler_(sampler.clone()), augmenter_(augmenter), format_(format), threads_(threads) {}

TrainBatchSource::TrainBatchSource(const TrainBatchSource& o)
    : dataset_(o.dataset_), sampler_(o.sampler_->clone()), augmenter_(o.augmenter_), format_(o.format_),
      threads_(o.threads_) {}

TrainBatch TrainBatchSource::operator()() {
    // OpenMP thread counts are per thread: this sets the worker's, not the trainer's.
    if (threads_ > 0) omp_set_num_threads(threads_);
    TrainBatch out;
    out.batch = sampler_->next();
    out.step = out.batch.epoch * sampler_->batches_per_epoch() + out.batch.position;
    out.state_after = sampler_->state();
    if (!augmenter_) {
        out.images = load_batch(dataset_, out.batch.indices, format_);
    } else {
        // Load into the first half, copy it to the second and augment that in place: what
        // Augmenter::apply does, with no third buffer.
        const auto b = static_cast<std::int64_t>(out.batch.indices.size());
        Shape shape = batch_shape(dataset_, 2 * b, format_);
        out.views = Tensor::empty(shape);
        float* clean = out.views.data<float>();
        const std::int64_t half = out.views.numel() / 2;
        load_batch_into(dataset_, out.batch.indices, format_, clean);
        std::copy(clean, clean + half, clean + half);
        augmenter_->apply_inplace(clean + half, b, shape[1], shape[2], shape[3], static_cast<std::uint64_t>(out.step));
        out.images = out.views.slice(0, 0, b);
        out.augmented = out.views.slice(0, b, 2 * b);
    }
    out.domains = Tensor::from_vector(out.batch.domains, {static_cast<std::int64_t>(out.batch.domains.size())});
    return out;
}

}  // namespace dcodr::data

// The standard-contrastive baseline's shuffled batches (the rule is in data/sampler.h).
#include "data/rng.h"
#include "data/sampler.h"
#include "tensor/error.h"

namespace dcodr::data {

namespace {
constexpr std::uint64_t kShuffleStream = 0x5A0FF1ED;
}  // namespace

ShuffledSampler::ShuffledSampler(const std::vector<std::int64_t>& domains, std::int64_t batch_size,
                                 std::uint64_t seed)
    : domains_(domains), b_(batch_size), seed_(seed) {
    DCODR_CHECK(b_ >= 2 && b_ <= (1 << 24), "sampler: a shuffled batch needs 2 to 2^24 images, got {}", b_);
    const auto n = static_cast<std::int64_t>(domains_.size());
    batches_per_epoch_ = n / b_;
    DCODR_CHECK(batches_per_epoch_ > 0, "sampler: {} images make no shuffled batch of {} (use a smaller batch)", n, b_);
}

void ShuffledSampler::make_batch(std::int64_t epoch, std::int64_t position, DomainBatch& out) {
    if (perm_epoch_ != epoch) {
        perm_.resize(domains_.size());
        for (std::size_t i = 0; i < perm_.size(); ++i) perm_[i] = static_cast<std::int64_t>(i);
        RandomStream rng(mix64(mix64(seed_, kShuffleStream), static_cast<std::uint64_t>(epoch)));
        rng.shuffle(perm_);
        perm_epoch_ = epoch;
    }
    out.indices.assign(perm_.begin() + position * b_, perm_.begin() + (position + 1) * b_);
    out.domains.clear();
    for (std::int64_t i : out.indices) out.domains.push_back(domains_[static_cast<std::size_t>(i)]);
}

}  // namespace dcodr::data

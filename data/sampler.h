// Balanced domain batches for the domain-wise contrastive loss: every batch holds exactly
// k distinct domains x m images of each (grouped: the first m indices are one domain, ...),
// because each anchor's negatives are the other images of its domain in the batch.
//
// Epoch rule (exact). At the start of epoch e, with stream key (seed, e):
//  1. Each domain's images are shuffled and cut into chunks of m; the last, partial chunk is
//     topped up with the first images of the same shuffled list (distinct from the chunk's own
//     when the domain has >= m images; a domain with < m images repeats images in its chunk).
//  2. Batches are formed greedily: each batch takes the k domains with the most chunks left
//     (random tie-break) and one chunk from each. This uses every chunk in the minimum number
//     of batches, B = max(ceil(C / k), max_d c_d), with c_d = ceil(n_d / m), C = sum c_d.
//  3. When fewer than k domains still have chunks (unequal domain sizes), the missing domains
//     contribute a filler chunk of m images drawn at random from that domain.
//  4. The B batches are shuffled.
// Hence every image is an anchor at least once per epoch; the only repeats are the top-ups
// of step 1 and the fillers of step 3. Domains without images are never sampled.
// The sampler's position is (epoch, batch within epoch); the plan of an epoch is a pure
// function of (seed, epoch, labels), so restoring those two numbers replays the same batches.
#pragma once
#include <cstdint>
#include <vector>

namespace dcodr::data {

// min(4, n_domains): the paper's 4 domains per batch, fewer when the data has fewer.
std::int64_t default_domains_per_batch(std::int64_t n_domains);

struct SamplerState {
    // The next batch is batch `position` of epoch `epoch`; position == batches_per_epoch means
    // the epoch is finished and next() moves on to batch 0 of epoch + 1.
    std::int64_t epoch = 0;
    std::int64_t position = 0;
};

struct DomainBatch {
    std::vector<std::int64_t> indices;  // k * m image indices, domain-major
    std::vector<std::int64_t> domains;  // k * m domain labels (domains[j] of indices[j])
    std::int64_t epoch = 0, position = 0;  // where this batch sits in the schedule
};

class BalancedSampler {
public:
    // domains[i] in [0, n_domains) is the domain of image i.
    BalancedSampler(std::vector<std::int64_t> domains, std::int64_t n_domains, std::int64_t domains_per_batch,
                    std::int64_t images_per_domain, std::uint64_t seed);

    DomainBatch next();
    std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
    std::int64_t batch_size() const { return k_ * m_; }
    std::int64_t domains_per_batch() const { return k_; }
    std::int64_t images_per_domain() const { return m_; }

    SamplerState state() const { return state_; }
    void restore(const SamplerState& s);
    // The state as {epoch, position}, for checkpoints storing int64 lists.
    std::vector<std::int64_t> state_vector() const { return {state_.epoch, state_.position}; }
    void restore(const std::vector<std::int64_t>& v);

private:
    void build_plan(std::int64_t epoch);

    std::vector<std::vector<std::int64_t>> by_domain_;  // image indices per domain
    std::vector<std::int64_t> active_;                  // domains with at least one image
    std::int64_t k_, m_;
    std::uint64_t seed_;
    std::int64_t batches_per_epoch_ = 0;
    SamplerState state_;
    std::int64_t plan_epoch_ = -1;
    std::vector<std::int64_t> plan_;  // batches_per_epoch * k * m indices
    std::vector<std::int64_t> plan_domains_;
};

}  // namespace dcodr::data

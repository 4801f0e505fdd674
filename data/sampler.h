// Training batches: which images each step sees. Three samplers behind one interface:
//
//  * authors (the default): the authors' BalancedBatchSampler (DCoDR's model/utils.py). Each batch
//    draws k domains uniformly without replacement, and takes the next m images of each domain's
//    shuffled list (data/authors_sampler.cpp); an epoch is N // (k * m) batches.
//  * coverage: every image is an anchor at least once per epoch, with domain-balanced batches
//    (data/coverage_sampler.cpp); pads domains with repeats, longer epochs.
//  * shuffled: the standard-contrastive baseline's ordinary batches, a shuffled pass over all
//    images in batches of B (drop_last; data/shuffled_sampler.cpp), no domain structure.
//
// Batches of the first two are grouped by domain (the first images are one domain, ...),
// because each anchor's negatives are the other images of its domain in the batch.
// A sampler's position is (epoch, batch within epoch); every batch is a pure function of
// (seed, labels, position), so restoring those two numbers replays the same batches.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
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
    std::vector<std::int64_t> indices;  // image indices (a padded domain repeats some), domain-major
    std::vector<std::int64_t> domains;  // domain labels (domains[j] of indices[j])
    std::int64_t epoch = 0, position = 0;  // where this batch sits in the schedule
};

enum class SamplerKind { authors, coverage, shuffled };
SamplerKind parse_sampler_kind(const std::string& name);  // "authors", "coverage", "shuffled"
const char* sampler_kind_name(SamplerKind kind);

class BatchSampler {
public:
    virtual ~BatchSampler() = default;
    virtual std::unique_ptr<BatchSampler> clone() const = 0;

    DomainBatch next();
    virtual std::int64_t batches_per_epoch() const = 0;
    // Images in a batch (authors: at most this many; a domain smaller than m gives all it has).
    virtual std::int64_t batch_size() const = 0;

    SamplerState state() const { return state_; }
    void restore(const SamplerState& s);
    // The state as {epoch, position}, for checkpoints storing int64 lists.
    std::vector<std::int64_t> state_vector() const { return {state_.epoch, state_.position}; }
    void restore(const std::vector<std::int64_t>& v);

protected:
    // Fills the batch at global index epoch * batches_per_epoch + position (and its epoch,
    // position); called with consecutive positions except after restore().
    virtual void make_batch(std::int64_t epoch, std::int64_t position, DomainBatch& out) = 0;

private:
    SamplerState state_;
};

struct SamplerOptions {
    SamplerKind kind = SamplerKind::authors;
    std::int64_t domains_per_batch = 0;   // authors, coverage: k (0 = default_domains_per_batch)
    std::int64_t images_per_domain = 32;  // authors, coverage: m
    std::int64_t batch_size = 64;         // shuffled: B
    std::uint64_t seed = 0;
};
// domains[i] in [0, n_domains) is image i's domain.
std::unique_ptr<BatchSampler> make_sampler(const std::vector<std::int64_t>& domains, std::int64_t n_domains,
                                           const SamplerOptions& options);

// The coverage-guaranteeing balanced sampler. Epoch rule (exact). At the start of epoch e,
// with stream key (seed, e):
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
// of step 1 and the fillers of step 3 (the loss never uses an image as its own negative:
// method/contrastive_loss.h). Domains without images are never sampled.
class CoverageSampler final : public BatchSampler {
public:
    CoverageSampler(const std::vector<std::int64_t>& domains, std::int64_t n_domains, std::int64_t domains_per_batch,
                    std::int64_t images_per_domain, std::uint64_t seed);
    std::unique_ptr<BatchSampler> clone() const override { return std::make_unique<CoverageSampler>(*this); }
    std::int64_t batches_per_epoch() const override { return batches_per_epoch_; }
    std::int64_t batch_size() const override { return k_ * m_; }

private:
    void make_batch(std::int64_t epoch, std::int64_t position, DomainBatch& out) override;
    void build_plan(std::int64_t epoch);

    std::vector<std::vector<std::int64_t>> by_domain_;  // image indices per domain
    std::vector<std::int64_t> active_;                  // domains with at least one image
    std::int64_t k_, m_;
    std::uint64_t seed_;
    std::int64_t batches_per_epoch_ = 0;
    std::int64_t plan_epoch_ = -1;
    std::vector<std::int64_t> plan_;  // batches_per_epoch * k * m indices
    std::vector<std::int64_t> plan_domains_;
};

// The authors' balanced sampler. Each domain keeps a shuffled list of its images and a cursor
// that persists across epochs. Batch t:
//  1. draws k distinct domains uniformly among those with images (stream (seed, t));
//  2. takes list[cursor, cursor + m) of each (all of it, fewer than m images, when the domain has
//     fewer than m: the authors never repeat an image in a batch), cursor += m;
//  3. when cursor + m would run past the list, reshuffles it (stream (seed, domain, round)) and
//     resets the cursor: the short tail of the old order is skipped.
// An epoch is N // (k * m) batches (their __len__, which their learning-rate schedule uses).
// The walk is a function of the batch index alone: restore() replays the cursors (a few integer
// operations per batch) and draws only the permutations it needs.
class AuthorsSampler final : public BatchSampler {
public:
    AuthorsSampler(const std::vector<std::int64_t>& domains, std::int64_t n_domains, std::int64_t domains_per_batch,
                   std::int64_t images_per_domain, std::uint64_t seed);
    std::unique_ptr<BatchSampler> clone() const override { return std::make_unique<AuthorsSampler>(*this); }
    std::int64_t batches_per_epoch() const override { return batches_per_epoch_; }
    std::int64_t batch_size() const override { return k_ * m_; }

private:
    void make_batch(std::int64_t epoch, std::int64_t position, DomainBatch& out) override;
    std::vector<std::int64_t> pick_domains(std::int64_t batch) const;
    void advance(const std::vector<std::int64_t>& picked);  // moves the picked domains' cursors on
    const std::vector<std::int64_t>& order_of(std::int64_t d);  // domain d's list for its current round

    std::vector<std::vector<std::int64_t>> by_domain_;
    std::vector<std::int64_t> active_;
    std::int64_t k_, m_;
    std::uint64_t seed_;
    std::int64_t batches_per_epoch_ = 0;
    // The walk after `walked_` batches: per domain, its reshuffle round and cursor.
    std::int64_t walked_ = 0;
    std::vector<std::int64_t> round_, cursor_;
    // Cached shuffled list per domain, valid for round cached_round_[d] (-1: none).
    std::vector<std::vector<std::int64_t>> order_;
    std::vector<std::int64_t> cached_round_;
};

// The standard-contrastive baseline's batches as the authors make them (a shuffled DataLoader
// with drop_last): epoch e is a permutation of all images (stream (seed, e)) cut into
// N // B batches of B; the last N % B images of the permutation are not used that epoch.
class ShuffledSampler final : public BatchSampler {
public:
    ShuffledSampler(const std::vector<std::int64_t>& domains, std::int64_t batch_size, std::uint64_t seed);
    std::unique_ptr<BatchSampler> clone() const override { return std::make_unique<ShuffledSampler>(*this); }
    std::int64_t batches_per_epoch() const override { return batches_per_epoch_; }
    std::int64_t batch_size() const override { return b_; }

private:
    void make_batch(std::int64_t epoch, std::int64_t position, DomainBatch& out) override;

    std::vector<std::int64_t> domains_;
    std::int64_t b_;
    std::uint64_t seed_;
    std::int64_t batches_per_epoch_ = 0;
    std::int64_t perm_epoch_ = -1;
    std::vector<std::int64_t> perm_;
};

}  // namespace dcodr::data

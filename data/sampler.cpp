#include "data/sampler.h"

#include <algorithm>

#include "data/sampler_common.h"
#include "tensor/error.h"

namespace dcodr::data {

std::int64_t default_domains_per_batch(std::int64_t n_domains) { return std::min<std::int64_t>(4, n_domains); }

DomainGroups group_by_domain(const std::vector<std::int64_t>& domains, std::int64_t n_domains, std::int64_t k,
                             std::int64_t m) {
    DCODR_CHECK(n_domains > 0, "sampler: n_domains must be positive, got {}", n_domains);
    DCODR_CHECK(k > 0 && m > 0, "sampler: domains per batch and images per domain must be positive (got {}, {})", k,
                m);
    // Bounds that keep every index product below (k * m * chunks) in int64: the samplers' sizes
    // and offsets are computed from these without further checks.
    DCODR_CHECK(k <= (1 << 20) && m <= (1 << 20) && k * m <= (1 << 24),
                "sampler: a batch of {} domains x {} images per domain is too large (at most 2^24 images)", k, m);
    DomainGroups g;
    g.by_domain.resize(static_cast<std::size_t>(n_domains));
    for (std::size_t i = 0; i < domains.size(); ++i) {
        DCODR_CHECK(domains[i] >= 0 && domains[i] < n_domains, "sampler: domain of image {} is {}, out of range [0, {})",
                    i, domains[i], n_domains);
        g.by_domain[static_cast<std::size_t>(domains[i])].push_back(static_cast<std::int64_t>(i));
    }
    for (std::int64_t d = 0; d < n_domains; ++d)
        if (!g.by_domain[static_cast<std::size_t>(d)].empty()) g.active.push_back(d);
    DCODR_CHECK(static_cast<std::int64_t>(g.active.size()) >= k,
                "sampler: batches need {} domains but only {} domains have images (use fewer domains per batch)", k,
                g.active.size());
    return g;
}

SamplerKind parse_sampler_kind(const std::string& name) {
    if (name == "authors") return SamplerKind::authors;
    if (name == "coverage") return SamplerKind::coverage;
    if (name == "shuffled") return SamplerKind::shuffled;
    fail("unknown sampler '{}': expected authors, coverage or shuffled", name);
}

const char* sampler_kind_name(SamplerKind kind) {
    switch (kind) {
        case SamplerKind::authors: return "authors";
        case SamplerKind::coverage: return "coverage";
        default: return "shuffled";
    }
}

DomainBatch BatchSampler::next() {
    if (state_.position >= batches_per_epoch()) {
        ++state_.epoch;
        state_.position = 0;
    }
    DomainBatch out;
    out.epoch = state_.epoch;
    out.position = state_.position;
    make_batch(state_.epoch, state_.position, out);
    ++state_.position;
    return out;
}

void BatchSampler::restore(const SamplerState& s) {
    DCODR_CHECK(s.epoch >= 0 && s.position >= 0 && s.position <= batches_per_epoch(),
                "sampler: cannot restore state (epoch {}, position {}): position must be in [0, {}] (batches per "
                "epoch for this data and batch shape)",
                s.epoch, s.position, batches_per_epoch());
    state_ = s;
}

void BatchSampler::restore(const std::vector<std::int64_t>& v) {
    DCODR_CHECK(v.size() == 2, "sampler: state must be {{epoch, position}}, got {} values", v.size());
    restore(SamplerState{v[0], v[1]});
}

std::unique_ptr<BatchSampler> make_sampler(const std::vector<std::int64_t>& domains, std::int64_t n_domains,
                                           const SamplerOptions& o) {
    const std::int64_t k = o.domains_per_batch > 0 ? o.domains_per_batch : default_domains_per_batch(n_domains);
    switch (o.kind) {
        case SamplerKind::authors:
            return std::make_unique<AuthorsSampler>(domains, n_domains, k, o.images_per_domain, o.seed);
        case SamplerKind::coverage:
            return std::make_unique<CoverageSampler>(domains, n_domains, k, o.images_per_domain, o.seed);
        default: return std::make_unique<ShuffledSampler>(domains, o.batch_size, o.seed);
    }
}

}  // namespace dcodr::data

// The coverage-guaranteeing balanced sampler (the rule is in data/sampler.h).
#include "data/sampler.h"

#include <algorithm>
#include <queue>
#include <tuple>

#include "data/rng.h"
#include "data/sampler_common.h"
#include "tensor/error.h"

namespace dcodr::data {

CoverageSampler::CoverageSampler(const std::vector<std::int64_t>& domains, std::int64_t n_domains,
                                 std::int64_t domains_per_batch, std::int64_t images_per_domain, std::uint64_t seed)
    : k_(domains_per_batch), m_(images_per_domain), seed_(seed) {
    DomainGroups g = group_by_domain(domains, n_domains, k_, m_);
    by_domain_ = std::move(g.by_domain);
    active_ = std::move(g.active);
    std::int64_t chunks = 0, max_chunks = 0;
    for (std::int64_t d : active_) {
        auto n = static_cast<std::int64_t>(by_domain_[d].size());
        std::int64_t c = (n + m_ - 1) / m_;
        chunks += c;
        max_chunks = std::max(max_chunks, c);
    }
    batches_per_epoch_ = std::max((chunks + k_ - 1) / k_, max_chunks);
}

void CoverageSampler::build_plan(std::int64_t epoch) {
    const std::uint64_t key = mix64(mix64(seed_, 0x5A3B1E), static_cast<std::uint64_t>(epoch));
    RandomStream rng(mix64(key, ~0ull));
    // Step 1: shuffled, padded chunks per domain.
    std::vector<std::vector<std::int64_t>> chunks(by_domain_.size());  // flattened chunks per domain
    std::vector<std::int64_t> left(by_domain_.size(), 0), taken(by_domain_.size(), 0);
    for (auto d : active_) {
        std::vector<std::int64_t> perm = by_domain_[d];
        RandomStream drng(mix64(key, static_cast<std::uint64_t>(d)));
        drng.shuffle(perm);
        const auto n = static_cast<std::int64_t>(perm.size());
        const std::int64_t c = (n + m_ - 1) / m_;
        auto& out = chunks[d];
        out = perm;
        for (std::int64_t j = n; j < c * m_; ++j) out.push_back(perm[static_cast<std::size_t>((j - n) % n)]);
        left[d] = c;
    }
    // Step 2-3: greedy, most chunks left first; ties broken by a fresh random key per push.
    using Entry = std::tuple<std::int64_t, std::uint64_t, std::int64_t>;  // (chunks left, tie key, domain)
    std::priority_queue<Entry> queue;
    for (auto d : active_) queue.emplace(left[d], rng.next_u64(), d);
    const std::int64_t bs = k_ * m_;
    plan_.assign(static_cast<std::size_t>(batches_per_epoch_ * bs), 0);
    plan_domains_.assign(plan_.size(), 0);
    std::vector<Entry> picked;
    for (std::int64_t b = 0; b < batches_per_epoch_; ++b) {
        picked.clear();
        for (std::int64_t j = 0; j < k_; ++j) {
            picked.push_back(queue.top());
            queue.pop();
        }
        for (std::int64_t j = 0; j < k_; ++j) {
            const std::int64_t d = std::get<2>(picked[j]);
            std::int64_t* dst = &plan_[static_cast<std::size_t>(b * bs + j * m_)];
            if (left[d] > 0) {
                std::copy_n(&chunks[d][static_cast<std::size_t>(taken[d] * m_)], m_, dst);
                ++taken[d];
                --left[d];
            } else {  // filler: m random images of d (distinct when the domain has >= m)
                std::vector<std::int64_t> pool = by_domain_[d];
                const auto n = static_cast<std::int64_t>(pool.size());
                for (std::int64_t t = 0; t < std::min(m_, n); ++t) std::swap(pool[t], pool[t + rng.below(n - t)]);
                for (std::int64_t t = 0; t < m_; ++t) dst[t] = pool[static_cast<std::size_t>(t % n)];
            }
            std::fill_n(&plan_domains_[static_cast<std::size_t>(b * bs + j * m_)], m_, d);
            queue.emplace(left[d], rng.next_u64(), d);
        }
    }
    for (auto d : active_)
        DCODR_CHECK(left[d] == 0, "sampler: internal error, {} chunks of domain {} unscheduled", left[d], d);
    // Step 4: shuffle the batch order.
    std::vector<std::int64_t> order(static_cast<std::size_t>(batches_per_epoch_));
    for (std::int64_t b = 0; b < batches_per_epoch_; ++b) order[b] = b;
    rng.shuffle(order);
    std::vector<std::int64_t> p(plan_.size()), pd(plan_.size());
    for (std::int64_t b = 0; b < batches_per_epoch_; ++b) {
        std::copy_n(&plan_[order[b] * bs], bs, &p[b * bs]);
        std::copy_n(&plan_domains_[order[b] * bs], bs, &pd[b * bs]);
    }
    plan_.swap(p);
    plan_domains_.swap(pd);
    plan_epoch_ = epoch;
}

void CoverageSampler::make_batch(std::int64_t epoch, std::int64_t position, DomainBatch& out) {
    if (plan_epoch_ != epoch) build_plan(epoch);
    const std::int64_t bs = batch_size();
    auto first = plan_.begin() + position * bs;
    out.indices.assign(first, first + bs);
    auto dfirst = plan_domains_.begin() + position * bs;
    out.domains.assign(dfirst, dfirst + bs);
}

}  // namespace dcodr::data

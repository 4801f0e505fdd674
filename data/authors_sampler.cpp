// The authors' balanced batch sampler (the rule is in data/sampler.h).
#include <algorithm>

#include "data/rng.h"
#include "data/sampler.h"
#include "data/sampler_common.h"
#include "tensor/error.h"

namespace dcodr::data {

namespace {
// Stream ids, so the authors' sampler draws nothing that another use of the seed draws.
constexpr std::uint64_t kPickStream = 0xA07B1C5;
constexpr std::uint64_t kOrderStream = 0xA07B0D3;
}  // namespace

AuthorsSampler::AuthorsSampler(const std::vector<std::int64_t>& domains, std::int64_t n_domains,
                               std::int64_t domains_per_batch, std::int64_t images_per_domain, std::uint64_t seed)
    : k_(domains_per_batch), m_(images_per_domain), seed_(seed) {
    DomainGroups g = group_by_domain(domains, n_domains, k_, m_);
    by_domain_ = std::move(g.by_domain);
    active_ = std::move(g.active);
    const auto n = static_cast<std::int64_t>(domains.size());
    batches_per_epoch_ = n / (k_ * m_);
    DCODR_CHECK(batches_per_epoch_ > 0,
                "sampler: {} images make no batch of {} domains x {} images (an epoch is N // {} batches); use "
                "fewer images per domain or the coverage sampler",
                n, k_, m_, k_ * m_);
    round_.assign(by_domain_.size(), 0);
    cursor_.assign(by_domain_.size(), 0);
    order_.resize(by_domain_.size());
    cached_round_.assign(by_domain_.size(), -1);
}

std::vector<std::int64_t> AuthorsSampler::pick_domains(std::int64_t batch) const {
    // k distinct domains, uniformly: draw among all and redraw a repeat (k is small, so this
    // costs a few draws; each ordered k-subset is equally likely).
    RandomStream rng(mix64(mix64(seed_, kPickStream), static_cast<std::uint64_t>(batch)));
    const auto n = static_cast<std::int64_t>(active_.size());
    std::vector<std::int64_t> picked;
    picked.reserve(static_cast<std::size_t>(k_));
    while (static_cast<std::int64_t>(picked.size()) < k_) {
        const std::int64_t d = active_[static_cast<std::size_t>(rng.below(n))];
        if (std::find(picked.begin(), picked.end(), d) == picked.end()) picked.push_back(d);
    }
    return picked;
}

void AuthorsSampler::advance(const std::vector<std::int64_t>& picked) {
    for (std::int64_t d : picked) {
        const auto n = static_cast<std::int64_t>(by_domain_[d].size());
        cursor_[d] += m_;
        if (cursor_[d] + m_ > n) {  // the tail is too short for a full chunk: new order
            ++round_[d];
            cursor_[d] = 0;
        }
    }
}

const std::vector<std::int64_t>& AuthorsSampler::order_of(std::int64_t d) {
    if (cached_round_[d] != round_[d]) {
        order_[d] = by_domain_[d];
        RandomStream rng(mix64(mix64(mix64(seed_, kOrderStream), static_cast<std::uint64_t>(d)),
                               static_cast<std::uint64_t>(round_[d])));
        rng.shuffle(order_[d]);
        cached_round_[d] = round_[d];
    }
    return order_[d];
}

void AuthorsSampler::make_batch(std::int64_t epoch, std::int64_t position, DomainBatch& out) {
    const std::int64_t t = epoch * batches_per_epoch_ + position;
    if (walked_ > t) {  // restored to an earlier point: replay from the start
        walked_ = 0;
        std::fill(round_.begin(), round_.end(), 0);
        std::fill(cursor_.begin(), cursor_.end(), 0);
    }
    for (; walked_ < t; ++walked_) advance(pick_domains(walked_));
    const std::vector<std::int64_t> picked = pick_domains(t);
    out.indices.clear();
    out.domains.clear();
    for (std::int64_t d : picked) {
        const std::vector<std::int64_t>& order = order_of(d);
        const auto n = static_cast<std::int64_t>(order.size());
        const std::int64_t end = std::min(cursor_[d] + m_, n);
        out.indices.insert(out.indices.end(), order.begin() + cursor_[d], order.begin() + end);
        out.domains.insert(out.domains.end(), static_cast<std::size_t>(end - cursor_[d]), d);
    }
    advance(picked);
    ++walked_;
}

}  // namespace dcodr::data

// Balanced domain batches: balance, coverage, determinism, resume.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "data/sampler.h"

using namespace dcodr::data;
using Catch::Matchers::Contains;

namespace {
std::vector<std::int64_t> labels(const std::vector<std::int64_t>& sizes) {
    std::vector<std::int64_t> d;
    // interleave so indices of a domain are not contiguous
    std::int64_t total = 0;
    for (auto s : sizes) total += s;
    std::vector<std::int64_t> left = sizes;
    while (static_cast<std::int64_t>(d.size()) < total)
        for (std::size_t k = 0; k < sizes.size(); ++k)
            if (left[k] > 0) {
                d.push_back(static_cast<std::int64_t>(k));
                --left[k];
            }
    return d;
}

void check_balance(const DomainBatch& b, const std::vector<std::int64_t>& dom, std::int64_t k, std::int64_t m) {
    REQUIRE(static_cast<std::int64_t>(b.indices.size()) == k * m);
    std::set<std::int64_t> seen;
    for (std::int64_t g = 0; g < k; ++g) {
        const std::int64_t d = b.domains[g * m];
        CHECK(seen.insert(d).second);  // k distinct domains
        for (std::int64_t j = 0; j < m; ++j) {
            CHECK(b.domains[g * m + j] == d);
            CHECK(dom[b.indices[g * m + j]] == d);
        }
    }
}
}  // namespace

TEST_CASE("every batch is k domains x m images; one epoch covers every image", "[sampler]") {
    struct Case {
        std::vector<std::int64_t> sizes;
        std::int64_t k, m;
    };
    std::vector<Case> cases = {
        {{64, 64, 64, 64}, 4, 16},          // exact fit
        {{100, 37, 64, 5, 90, 0}, 4, 8},    // unequal, one tiny domain, one empty domain
        {{500, 20}, 2, 32},                 // very unbalanced, a domain smaller than m
        {std::vector<std::int64_t>(30, 10), 4, 3},  // many domains
    };
    for (const auto& c : cases) {
        auto dom = labels(c.sizes);
        BalancedSampler s(dom, static_cast<std::int64_t>(c.sizes.size()), c.k, c.m, 42);
        std::int64_t chunks = 0, max_chunks = 0;
        for (auto n : c.sizes) {
            chunks += (n + c.m - 1) / c.m;
            max_chunks = std::max(max_chunks, (n + c.m - 1) / c.m);
        }
        CHECK(s.batches_per_epoch() == std::max((chunks + c.k - 1) / c.k, max_chunks));
        for (int epoch = 0; epoch < 2; ++epoch) {
            std::map<std::int64_t, int> uses;
            for (std::int64_t b = 0; b < s.batches_per_epoch(); ++b) {
                DomainBatch batch = s.next();
                CHECK(batch.epoch == epoch);
                CHECK(batch.position == b);
                check_balance(batch, dom, c.k, c.m);
                for (auto i : batch.indices) ++uses[i];
            }
            CHECK(static_cast<std::int64_t>(uses.size()) == static_cast<std::int64_t>(dom.size()));
        }
    }
}

TEST_CASE("exact fit uses every image exactly once per epoch", "[sampler]") {
    auto dom = labels({32, 32, 32, 32});
    BalancedSampler s(dom, 4, 2, 8, 1);
    CHECK(s.batches_per_epoch() == 8);
    std::map<std::int64_t, int> uses;
    for (int b = 0; b < 8; ++b)
        for (auto i : s.next().indices) ++uses[i];
    CHECK(uses.size() == 128);
    for (auto [i, n] : uses) CHECK(n == 1);
}

TEST_CASE("seeded; epochs differ; cursor save/restore replays the sequence", "[sampler]") {
    auto dom = labels({50, 70, 40, 33, 60});
    BalancedSampler a(dom, 5, 4, 8, 7), b(dom, 5, 4, 8, 7), c(dom, 5, 4, 8, 8);
    auto a0 = a.next(), b0 = b.next(), c0 = c.next();
    CHECK(a0.indices == b0.indices);
    CHECK(a0.indices != c0.indices);

    // run a into the second epoch, save, continue, then restore a fresh sampler
    for (int i = 0; i < a.batches_per_epoch() + 3; ++i) a.next();
    std::vector<std::int64_t> saved = a.state_vector();
    CHECK(saved[0] == 1);
    std::vector<std::vector<std::int64_t>> expected;
    for (int i = 0; i < 2 * a.batches_per_epoch(); ++i) expected.push_back(a.next().indices);
    BalancedSampler r(dom, 5, 4, 8, 7);
    r.restore(saved);
    for (const auto& e : expected) CHECK(r.next().indices == e);

    // the next epoch's plan is a different permutation
    BalancedSampler e(dom, 5, 4, 8, 7);
    auto first = e.next();
    e.restore(SamplerState{1, 0});
    CHECK(e.next().indices != first.indices);
    REQUIRE_THROWS_WITH(e.restore(SamplerState{0, 1000}), Contains("position"));
}

TEST_CASE("sampler errors", "[sampler]") {
    REQUIRE_THROWS_WITH(BalancedSampler(labels({10, 10}), 2, 4, 8, 0), Contains("only 2 domains"));
    REQUIRE_THROWS_WITH(BalancedSampler({0, 3}, 2, 1, 8, 0), Contains("out of range"));
    CHECK(default_domains_per_batch(2) == 2);
    CHECK(default_domains_per_batch(183) == 4);
}

// ---- background prefetching (data/prefetch.h) ----

#include <atomic>
#include <chrono>
#include <thread>

#include "data/prefetch.h"
#include "data/synthetic.h"

TEST_CASE("prefetcher keeps order, bounds the queue, propagates errors, shuts down", "[prefetch]") {
    std::atomic<int> made{0};
    {
        Prefetcher<int> p([&] { return made++; }, 2);
        for (int i = 0; i < 10; ++i) CHECK(p.next() == i);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        CHECK(made.load() <= 10 + 2 + 1);  // at most capacity ready plus one in the making
    }  // destructor with a full queue: must not hang

    int n = 0;
    Prefetcher<int> failing([&] {
        if (n == 3) throw dcodr::Error("disk on fire");
        return n++;
    });
    for (int i = 0; i < 3; ++i) CHECK(failing.next() == i);  // items made before the error arrive first
    REQUIRE_THROWS_WITH(failing.next(), Contains("disk on fire"));
    REQUIRE_THROWS_WITH(failing.next(), Contains("disk on fire"));
}

TEST_CASE("training batches: prefetched == sequential, resumable from state_after", "[prefetch]") {
    auto ds = shapes::generate(96, 3);
    Augmenter aug(default_augmentations(), 11);
    ImageFormat fmt;
    fmt.height = fmt.width = 32;
    BalancedSampler sampler(ds.domains, ds.n_domains, 2, 4, 5);
    TrainBatchSource direct(ds, sampler, &aug, fmt);
    std::vector<TrainBatch> expected;
    for (int i = 0; i < 6; ++i) expected.push_back(direct());
    CHECK(expected[0].images.shape() == dcodr::Shape{8, 3, 32, 32});
    CHECK(expected[0].augmented.shape() == dcodr::Shape{8, 3, 32, 32});
    CHECK(expected[0].domains.to_int_vector() == expected[0].batch.domains);

    Prefetcher<TrainBatch> pre(TrainBatchSource(ds, sampler, &aug, fmt, 1), 2);
    SamplerState saved;
    for (int i = 0; i < 6; ++i) {
        TrainBatch b = pre.next();
        CHECK(b.step == expected[i].step);
        CHECK(b.batch.indices == expected[i].batch.indices);
        CHECK(b.augmented.to_float_vector() == expected[i].augmented.to_float_vector());
        if (i == 2) saved = b.state_after;
    }
    // resume after the third batch: batches 4..6 again, augmentations included
    BalancedSampler resumed(ds.domains, ds.n_domains, 2, 4, 5);
    resumed.restore(saved);
    Prefetcher<TrainBatch> again(TrainBatchSource(ds, resumed, &aug, fmt), 1);
    for (int i = 3; i < 6; ++i) {
        TrainBatch b = again.next();
        CHECK(b.batch.indices == expected[i].batch.indices);
        CHECK(b.augmented.to_float_vector() == expected[i].augmented.to_float_vector());
    }
}

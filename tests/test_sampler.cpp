// Training batches: the coverage sampler (balance, coverage, determinism, resume), the authors'
// sampler (epoch length, uniform domains, per-domain walk, resume), the shuffled baseline batches.
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
        CoverageSampler s(dom, static_cast<std::int64_t>(c.sizes.size()), c.k, c.m, 42);
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
    CoverageSampler s(dom, 4, 2, 8, 1);
    CHECK(s.batches_per_epoch() == 8);
    std::map<std::int64_t, int> uses;
    for (int b = 0; b < 8; ++b)
        for (auto i : s.next().indices) ++uses[i];
    CHECK(uses.size() == 128);
    for (auto [i, n] : uses) CHECK(n == 1);
}

TEST_CASE("seeded; epochs differ; cursor save/restore replays the sequence", "[sampler]") {
    auto dom = labels({50, 70, 40, 33, 60});
    CoverageSampler a(dom, 5, 4, 8, 7), b(dom, 5, 4, 8, 7), c(dom, 5, 4, 8, 8);
    auto a0 = a.next(), b0 = b.next(), c0 = c.next();
    CHECK(a0.indices == b0.indices);
    CHECK(a0.indices != c0.indices);

    // run a into the second epoch, save, continue, then restore a fresh sampler
    for (int i = 0; i < a.batches_per_epoch() + 3; ++i) a.next();
    std::vector<std::int64_t> saved = a.state_vector();
    CHECK(saved[0] == 1);
    std::vector<std::vector<std::int64_t>> expected;
    for (int i = 0; i < 2 * a.batches_per_epoch(); ++i) expected.push_back(a.next().indices);
    CoverageSampler r(dom, 5, 4, 8, 7);
    r.restore(saved);
    for (const auto& e : expected) CHECK(r.next().indices == e);

    // the next epoch's plan is a different permutation
    CoverageSampler e(dom, 5, 4, 8, 7);
    auto first = e.next();
    e.restore(SamplerState{1, 0});
    CHECK(e.next().indices != first.indices);
    REQUIRE_THROWS_WITH(e.restore(SamplerState{0, 1000}), Contains("position"));
}

TEST_CASE("sampler errors", "[sampler]") {
    REQUIRE_THROWS_WITH(CoverageSampler(labels({10, 10}), 2, 4, 8, 0), Contains("only 2 domains"));
    REQUIRE_THROWS_WITH(CoverageSampler({0, 3}, 2, 1, 8, 0), Contains("out of range"));
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
    AuthorsSampler sampler(ds.domains, ds.n_domains, 2, 4, 5);
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
    AuthorsSampler resumed(ds.domains, ds.n_domains, 2, 4, 5);
    resumed.restore(saved);
    Prefetcher<TrainBatch> again(TrainBatchSource(ds, resumed, &aug, fmt), 1);
    for (int i = 3; i < 6; ++i) {
        TrainBatch b = again.next();
        CHECK(b.batch.indices == expected[i].batch.indices);
        CHECK(b.augmented.to_float_vector() == expected[i].augmented.to_float_vector());
    }
}

// ---- the authors' balanced sampler and the baseline's shuffled batches ----

TEST_CASE("authors' sampler: epoch of N // (k*m) batches, k distinct domains, m images of each", "[sampler]") {
    auto dom = labels({100, 37, 64, 90, 0, 45});  // 336 images, one empty domain
    AuthorsSampler s(dom, 6, 4, 8, 3);
    CHECK(s.batches_per_epoch() == 336 / 32);
    CHECK(s.batch_size() == 32);
    for (int b = 0; b < 3 * s.batches_per_epoch(); ++b) {
        DomainBatch batch = s.next();
        CHECK(batch.epoch == b / s.batches_per_epoch());
        CHECK(batch.position == b % s.batches_per_epoch());
        check_balance(batch, dom, 4, 8);  // every domain here has >= m images
        for (std::int64_t g = 0; g < 4; ++g) CHECK(batch.domains[g * 8] != 4);  // the empty one never
    }
    // An exact multiple: N // (k*m), their __len__ (and the epoch their LR schedule counts).
    CHECK(AuthorsSampler(labels({32, 32, 32, 32}), 4, 2, 8, 0).batches_per_epoch() == 8);
    REQUIRE_THROWS_WITH(AuthorsSampler(labels({10, 10}), 2, 2, 32, 0), Contains("no batch"));
}

TEST_CASE("authors' sampler: domains drawn uniformly, without replacement within a batch", "[sampler]") {
    // Very unequal domain sizes: the authors draw domains uniformly, not by size.
    auto dom = labels({400, 40, 40, 40, 40, 400});
    AuthorsSampler s(dom, 6, 2, 8, 11);
    std::map<std::int64_t, int> picked;
    const int batches = 3000;
    for (int b = 0; b < batches; ++b) {
        DomainBatch batch = s.next();
        REQUIRE(batch.domains.front() != batch.domains.back());  // two distinct domains
        for (std::int64_t g = 0; g < 2; ++g) ++picked[batch.domains[g * 8]];
    }
    // Each domain is in a batch with probability 2/6: expected 1000 of 3000, sd ~26.
    for (std::int64_t d = 0; d < 6; ++d) {
        INFO("domain " << d);
        CHECK(std::abs(picked[d] - 1000) < 130);
    }
}

TEST_CASE("authors' sampler: each domain's list walked m at a time without repeats, then reshuffled", "[sampler]") {
    // Domain 0 has 20 images, m = 6: chunks [0,6) [6,12) [12,18), then the 2-image tail is
    // skipped and the list reshuffled. Follow domain 0 through the batches that pick it.
    auto dom = labels({20, 50, 50, 50});
    AuthorsSampler s(dom, 4, 2, 6, 5);
    std::vector<std::vector<std::int64_t>> chunks;
    for (int b = 0; b < 400 && chunks.size() < 12; ++b) {
        DomainBatch batch = s.next();
        for (std::int64_t g = 0; g < 2; ++g)
            if (batch.domains[g * 6] == 0)
                chunks.emplace_back(batch.indices.begin() + g * 6, batch.indices.begin() + (g + 1) * 6);
    }
    REQUIRE(chunks.size() == 12);
    std::set<std::set<std::int64_t>> rounds;
    for (int r = 0; r < 4; ++r) {  // rounds of 3 chunks: 18 distinct images of the 20
        std::set<std::int64_t> seen;
        for (int c = 0; c < 3; ++c)
            for (auto i : chunks[r * 3 + c]) {
                CHECK(dom[i] == 0);
                CHECK(seen.insert(i).second);  // no repeat until the reshuffle
            }
        CHECK(seen.size() == 18);
        rounds.insert(seen);
    }
    CHECK(rounds.size() > 1);  // a reshuffle really draws a new order (which 2 are skipped varies)
    // The walk persists across epochs (the authors keep their cursors): chunk 3 came from
    // whatever epoch it fell in, and still continued the same round.
}

TEST_CASE("authors' sampler: a domain smaller than m gives all its images, none repeated", "[sampler]") {
    auto dom = labels({5, 40, 40});
    AuthorsSampler s(dom, 3, 3, 8, 2);
    DomainBatch batch = s.next();
    CHECK(batch.indices.size() == 5 + 8 + 8);
    std::set<std::int64_t> unique(batch.indices.begin(), batch.indices.end());
    CHECK(unique.size() == batch.indices.size());
    for (std::size_t j = 0; j < batch.indices.size(); ++j) CHECK(dom[batch.indices[j]] == batch.domains[j]);
}

TEST_CASE("authors' sampler: restore replays the same batches, from any point", "[sampler]") {
    auto dom = labels({70, 33, 90, 41, 58});
    AuthorsSampler a(dom, 5, 4, 8, 7);
    std::vector<DomainBatch> all;
    for (int i = 0; i < 4 * a.batches_per_epoch(); ++i) all.push_back(a.next());
    CHECK(AuthorsSampler(dom, 5, 4, 8, 8).next().indices != all[0].indices);  // seeded
    for (std::int64_t at : {std::int64_t{0}, std::int64_t{5}, a.batches_per_epoch(), 3 * a.batches_per_epoch() - 1}) {
        AuthorsSampler r(dom, 5, 4, 8, 7);
        r.restore(SamplerState{at / r.batches_per_epoch(), at % r.batches_per_epoch()});
        for (std::size_t i = static_cast<std::size_t>(at); i < all.size(); ++i) {
            INFO("restored at " << at << ", batch " << i);
            REQUIRE(r.next().indices == all[i].indices);
        }
    }
    // Restoring backwards on a used sampler replays too (a clone starts where its source is).
    std::unique_ptr<BatchSampler> c = a.clone();
    c->restore(SamplerState{1, 2});
    CHECK(c->next().indices == all[static_cast<std::size_t>(a.batches_per_epoch() + 2)].indices);
    // The end-of-epoch state a checkpoint saves (position == batches_per_epoch) continues too.
    AuthorsSampler e(dom, 5, 4, 8, 7);
    e.restore(SamplerState{0, e.batches_per_epoch()});
    CHECK(e.next().indices == all[static_cast<std::size_t>(e.batches_per_epoch())].indices);
}

TEST_CASE("shuffled baseline batches: B images from all domains, every image once per epoch", "[sampler]") {
    auto dom = labels({100, 37, 64, 90});  // 291 images
    auto s = make_sampler(dom, 4, SamplerOptions{SamplerKind::shuffled, 0, 32, 64, 9});
    CHECK(s->batches_per_epoch() == 291 / 64);
    std::set<std::int64_t> epoch0;
    std::vector<std::int64_t> first;
    for (int b = 0; b < s->batches_per_epoch(); ++b) {
        DomainBatch batch = s->next();
        REQUIRE(batch.indices.size() == 64);
        std::set<std::int64_t> domains(batch.domains.begin(), batch.domains.end());
        CHECK(domains.size() > 1);  // mixed domains
        for (std::size_t j = 0; j < 64; ++j) {
            CHECK(batch.domains[j] == dom[batch.indices[j]]);
            CHECK(epoch0.insert(batch.indices[j]).second);  // drop_last: no image twice in an epoch
        }
        if (b == 0) first = batch.indices;
    }
    CHECK(epoch0.size() == 4 * 64);
    CHECK(s->next().indices != first);  // the next epoch is a new permutation
    auto r = make_sampler(dom, 4, SamplerOptions{SamplerKind::shuffled, 0, 32, 64, 9});
    r->restore(SamplerState{1, 0});
    s->restore(SamplerState{1, 0});
    CHECK(r->next().indices == s->next().indices);
}

TEST_CASE("make_sampler and sampler names", "[sampler]") {
    auto dom = labels({40, 40, 40});
    CHECK(make_sampler(dom, 3, {SamplerKind::coverage, 0, 8, 64, 1})->batch_size() == 3 * 8);
    CHECK(make_sampler(dom, 3, {SamplerKind::authors, 2, 8, 64, 1})->batches_per_epoch() == 120 / 16);
    for (auto kind : {SamplerKind::authors, SamplerKind::coverage, SamplerKind::shuffled})
        CHECK(parse_sampler_kind(sampler_kind_name(kind)) == kind);
    REQUIRE_THROWS_WITH(parse_sampler_kind("balanced"), Contains("authors, coverage or shuffled"));
}

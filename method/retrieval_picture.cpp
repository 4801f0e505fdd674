#include "method/retrieval_picture.h"

#include <algorithm>

#include <fmt/format.h>

#include "data/image.h"
#include "method/evaluation.h"
#include "method/translate.h"
#include "tensor/ops.h"

namespace dcodr::method {

namespace {

constexpr data::Rgb kSame{0.05f, 0.55f, 0.15f}, kDifferent{0.80f, 0.10f, 0.10f}, kPlain{0.1f, 0.1f, 0.1f},
    kMuted{0.35f, 0.35f, 0.35f};

std::string domain_text(const data::Dataset& ds, std::int64_t i) {
    const std::int64_t d = ds.domains[static_cast<std::size_t>(i)];
    if (static_cast<std::int64_t>(ds.domain_names.size()) == ds.n_domains)
        return ds.domain_names[static_cast<std::size_t>(d)];  // a name says what it is: "cube"
    return fmt::format("domain {}", d);
}

std::string value_text(const data::Dataset& ds, std::int64_t i, std::int64_t a) {
    const std::int64_t v = ds.attribute(i, a);
    const auto k = static_cast<std::size_t>(a);
    if (k < ds.attribute_value_names.size() && static_cast<std::size_t>(v) < ds.attribute_value_names[k].size())
        return ds.attribute_value_names[k][static_cast<std::size_t>(v)];
    return std::to_string(v);
}

}  // namespace

std::vector<std::vector<std::int64_t>> nearest_in_other_domains(const Tensor& queries,
                                                                const std::vector<std::int64_t>& query_domains,
                                                                const Tensor& pool,
                                                                const std::vector<std::int64_t>& pool_domains,
                                                                std::int64_t k) {
    DCODR_CHECK(queries.size(0) == static_cast<std::int64_t>(query_domains.size()) &&
                    pool.size(0) == static_cast<std::int64_t>(pool_domains.size()),
                "nearest_in_other_domains: codes and domain labels differ in count");
    const std::int64_t nq = queries.size(0), np = pool.size(0);
    // Unit codes: the nearest in L2 is the largest dot product.
    const auto sims = kernels::matmul(queries, pool, false, true).to_vector();
    std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(nq));
    for (std::int64_t q = 0; q < nq; ++q) {
        std::vector<std::pair<double, std::int64_t>> cand;
        for (std::int64_t j = 0; j < np; ++j)
            if (pool_domains[static_cast<std::size_t>(j)] != query_domains[static_cast<std::size_t>(q)])
                cand.push_back({-sims[static_cast<std::size_t>(q * np + j)], j});
        const auto take = std::min<std::size_t>(static_cast<std::size_t>(std::max<std::int64_t>(k, 0)), cand.size());
        std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(take), cand.end());
        for (std::size_t i = 0; i < take; ++i) out[static_cast<std::size_t>(q)].push_back(cand[i].second);
    }
    return out;
}

std::vector<data::CaptionLine> label_caption(const data::Dataset& ds, std::int64_t i, const data::Dataset* reference,
                                             std::int64_t ref_index) {
    std::vector<data::CaptionLine> lines{{domain_text(ds, i), reference ? kMuted : kPlain}};
    for (std::int64_t a = 0; a < ds.num_attributes(); ++a) {
        data::Rgb colour = kPlain;
        if (reference) colour = ds.attribute(i, a) == reference->attribute(ref_index, a) ? kSame : kDifferent;
        lines.push_back({ds.attribute_names[static_cast<std::size_t>(a)] + " " + value_text(ds, i, a), colour});
    }
    return lines;
}

void save_retrieval_picture(const std::string& path, nn::DcodrEncoder& encoder, const data::Dataset& train,
                            const data::Dataset& test, std::int64_t image_size, Device device, std::int64_t queries,
                            std::int64_t neighbours, std::int64_t max_pool) {
    DCODR_CHECK(test.count > 0 && train.count > 0, "retrieval picture: empty data ({} train, {} test images)",
                train.count, test.count);
    std::vector<std::int64_t> pool_idx;
    const std::int64_t stride = std::max<std::int64_t>(1, (train.count + max_pool - 1) / max_pool);
    for (std::int64_t i = 0; i < train.count; i += stride) pool_idx.push_back(i);
    const data::Dataset pool = stride == 1 ? train : train.subset(pool_idx);
    const std::vector<std::int64_t> q = pick_rows(test, queries);
    const data::Dataset query_set = test.subset(q);
    Tensor pool_codes = encode_dataset(encoder, pool, image_size, device);
    Tensor query_codes = encode_dataset(encoder, query_set, image_size, device);
    const auto nearest = nearest_in_other_domains(query_codes, query_set.domains, pool_codes, pool.domains, neighbours);

    const data::ImageFormat format{image_size, image_size, 3};
    std::vector<data::CaptionedTile> tiles;
    for (std::size_t r = 0; r < q.size(); ++r) {
        Tensor query_image = data::load_batch(query_set, {static_cast<std::int64_t>(r)}, format);
        tiles.push_back({data::image_from_tensor(query_image.select(0, 0)),
                         label_caption(query_set, static_cast<std::int64_t>(r))});
        for (std::int64_t k = 0; k < neighbours; ++k) {
            if (k >= static_cast<std::int64_t>(nearest[r].size())) {  // too few images of other domains: blank
                tiles.push_back({data::Image(3, image_size, image_size, 1.0f), {}});
                continue;
            }
            const std::int64_t j = nearest[r][static_cast<std::size_t>(k)];
            Tensor image = data::load_batch(pool, {j}, format);
            tiles.push_back({data::image_from_tensor(image.select(0, 0)),
                             label_caption(pool, j, &query_set, static_cast<std::int64_t>(r))});
        }
    }
    data::CaptionedGridOptions options;
    options.columns = neighbours + 1;
    options.title = "Query (left), then its nearest training images by code from other domains.\n"
                    "Under each: its domain, then its attributes (green = same as the query's, red = not).";
    options.column_headers.push_back("query");
    for (std::int64_t k = 1; k <= neighbours; ++k) options.column_headers.push_back(fmt::format("nearest {}", k));
    options.tile_scale = std::max<std::int64_t>(1, (96 + image_size - 1) / image_size);  // tiles >= 96 px
    options.rule_after_column = 0;
    options.text_scale = 2;  // 14 px letters: readable where the report shows the picture 1:1
    data::save_png(path, data::make_captioned_grid(tiles, options));
}

}  // namespace dcodr::method

// The retrieval picture: a few test images (queries, spread over the domains), each followed by
// its nearest training images by code *from other domains*, with a legend drawn into the PNG:
// "query | nearest in other domains" over the columns and, under every image, its domain and
// attribute values (a neighbour's value green where it equals the query's, red where not). With
// a domain-invariant code the neighbours share the query's attributes but not its domain.
#pragma once
#include <string>
#include <vector>

#include "data/captioned_grid.h"
#include "data/dataset.h"
#include "nn/dcodr_encoder.h"

namespace dcodr::method {

// For each query code (rows of `queries`, unit length), the indices of the `k` most similar rows
// of `pool` whose domain differs from the query's, most similar first (fewer when the pool has
// fewer). Codes are float32 [N, D] on the host.
std::vector<std::vector<std::int64_t>> nearest_in_other_domains(const Tensor& queries,
                                                                const std::vector<std::int64_t>& query_domains,
                                                                const Tensor& pool,
                                                                const std::vector<std::int64_t>& pool_domains,
                                                                std::int64_t k);

// The legend under image `i` of `ds`: its domain (its name, or "domain N"), then one line per attribute ("name value",
// value names where the data set has them). With `reference` (the query's data set and index),
// attribute lines are green where they equal the reference's and red where they do not.
std::vector<data::CaptionLine> label_caption(const data::Dataset& ds, std::int64_t i,
                                             const data::Dataset* reference = nullptr, std::int64_t ref_index = -1);

// Encodes queries from `test` and neighbours from `train` (at most `max_pool` of them, evenly
// spaced, to bound the cost on large sets) and writes the picture as a PNG.
void save_retrieval_picture(const std::string& path, nn::DcodrEncoder& encoder, const data::Dataset& train,
                            const data::Dataset& test, std::int64_t image_size, Device device,
                            std::int64_t queries = 6, std::int64_t neighbours = 5, std::int64_t max_pool = 5000);

}  // namespace dcodr::method

// What the two domain-balanced samplers share: the checks on their arguments and the images
// grouped by domain.
#pragma once
#include <cstdint>
#include <vector>

namespace dcodr::data {

struct DomainGroups {
    std::vector<std::vector<std::int64_t>> by_domain;  // image indices per domain, ascending
    std::vector<std::int64_t> active;                  // domains with at least one image
};

// Refuses bad shapes (k, m not positive or too large, labels out of range, fewer than k domains
// with images), each with a message that names the problem.
DomainGroups group_by_domain(const std::vector<std::int64_t>& domains, std::int64_t n_domains,
                             std::int64_t domains_per_batch, std::int64_t images_per_domain);

}  // namespace dcodr::data

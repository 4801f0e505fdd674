// The domain-wise contrastive loss of DCoDR, and the ablations the paper compares it with.
//
// For clean codes z and positive (augmented-view) codes p, both L2-normalised:
//   L_i = -log( exp(z_i.p_i / tau) / (exp(z_i.p_i / tau) + sum_{j in N(i)} exp(z_i.z_j / tau)) )
// averaged over the batch. N(i) - the negatives - are the other clean anchors *of the same
// domain* (domain_wise), or of any domain (standard: SimCLR-style, the baseline that is not
// domain-invariant). no_positive replaces z_i.p_i by the constant 1.
// An image is never its own negative: when a batch holds the same image twice (a sampler that
// pads a domain smaller than its chunk with repeats), the copies are not each other's negatives,
// as in the authors' code, which never uses the anchor itself. Copies are found by image index,
// not by value (two different images may well look alike).
#pragma once
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace dcodr::method {

enum class ContrastiveMode { domain_wise, standard, no_positive };
ContrastiveMode parse_contrastive_mode(const std::string& name);  // "domain_wise", "standard", "no_positive"
const char* contrastive_mode_name(ContrastiveMode m);

struct ContrastiveOptions {
    double tau = 0.1;
    ContrastiveMode mode = ContrastiveMode::domain_wise;
    // At most this many negatives per anchor (0 = all): the next ones after i in batch order,
    // cyclically, so the choice is deterministic.
    std::int64_t max_negatives = 0;
};

// The 0/1 negative mask [B, B] (host-built from the labels): mask[i][j] = 1 when j is a
// negative of anchor i. `images` (one data-set index per row, or empty: all rows distinct)
// removes each row's copies of its own image.
Tensor negative_mask(const std::vector<std::int64_t>& domains, const ContrastiveOptions& options, DType dtype,
                     Device device, const std::vector<std::int64_t>& images = {});

// z, p: [B, D], already L2-normalised; domains: one label per row; images: as for negative_mask.
Tensor contrastive_loss(const Tensor& z, const Tensor& p, const std::vector<std::int64_t>& domains,
                        const ContrastiveOptions& options, const std::vector<std::int64_t>& images = {});

}  // namespace dcodr::method

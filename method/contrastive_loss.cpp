#include "method/contrastive_loss.h"

#include <limits>

#include "autograd/functional.h"

namespace dcodr::method {

ContrastiveMode parse_contrastive_mode(const std::string& name) {
    if (name == "domain_wise" || name == "dcodr") return ContrastiveMode::domain_wise;
    if (name == "standard" || name == "simclr") return ContrastiveMode::standard;
    if (name == "no_positive") return ContrastiveMode::no_positive;
    fail("unknown contrastive loss '{}': expected domain_wise, standard or no_positive", name);
}
const char* contrastive_mode_name(ContrastiveMode m) {
    switch (m) {
        case ContrastiveMode::domain_wise: return "domain_wise";
        case ContrastiveMode::standard: return "standard";
        default: return "no_positive";
    }
}

Tensor negative_mask(const std::vector<std::int64_t>& domains, const ContrastiveOptions& o, DType dtype,
                     Device device, const std::vector<std::int64_t>& images) {
    const std::int64_t b = static_cast<std::int64_t>(domains.size());
    DCODR_CHECK(images.empty() || static_cast<std::int64_t>(images.size()) == b,
                "contrastive_loss: {} image indices for a batch of {}", images.size(), b);
    std::vector<double> mask(static_cast<std::size_t>(b * b), 0.0);
    for (std::int64_t i = 0; i < b; ++i) {
        std::int64_t taken = 0;
        for (std::int64_t step = 1; step < b; ++step) {  // j = i+1, i+2, ... cyclically
            std::int64_t j = (i + step) % b;
            bool same = domains[i] == domains[j];
            bool itself = !images.empty() && images[i] == images[j];
            if (!itself && (o.mode == ContrastiveMode::standard || same)) {
                if (o.max_negatives > 0 && taken == o.max_negatives) break;
                mask[i * b + j] = 1.0;
                ++taken;
            }
        }
    }
    return Tensor::from_vector(mask, {b, b}, dtype, device);
}

Tensor contrastive_loss(const Tensor& z, const Tensor& p, const std::vector<std::int64_t>& domains,
                        const ContrastiveOptions& o, const std::vector<std::int64_t>& images) {
    DCODR_CHECK(z.dim() == 2 && z.shape() == p.shape(), "contrastive_loss: z {} and p {} must both be [B, D]",
                shape_str(z.shape()), shape_str(p.shape()));
    DCODR_CHECK(static_cast<std::int64_t>(domains.size()) == z.size(0),
                "contrastive_loss: {} domain labels for a batch of {}", domains.size(), z.size(0));
    DCODR_CHECK(o.tau > 0, "contrastive_loss: tau must be positive, got {}", o.tau);
    const double inv_tau = 1.0 / o.tau;
    // Positive logit per anchor, [B, 1].
    Tensor pos = o.mode == ContrastiveMode::no_positive
                     ? Tensor::full({z.size(0), 1}, inv_tau, z.dtype(), z.device())
                     : mul_scalar(sum(mul(z, p), {1}, true), inv_tau);
    // Negative logits [B, B]; non-negatives are masked to -inf so they vanish from the sum
    // (and get zero gradient). The positive column keeps every row finite, also a row left
    // without negatives (an image whose domain-mates in the batch are all copies of it).
    Tensor sim = mul_scalar(matmul(z, z, false, true), inv_tau);
    Tensor mask = negative_mask(domains, o, z.dtype(), z.device(), images);
    Tensor neg_inf = Tensor::full({}, -std::numeric_limits<double>::infinity(), z.dtype(), z.device());
    Tensor negs = where(mask, sim, neg_inf);
    Tensor logits = concat({pos, negs}, 1);
    // -log softmax of the positive column = logsumexp(row) - pos.
    return mean(sub(logsumexp(logits, 1), squeeze(pos, 1)));
}

}  // namespace dcodr::method

#include "method/translate.h"

#include <algorithm>

#include "autograd/functional.h"
#include "tensor/ops.h"

namespace dcodr::method {

namespace {

struct Rendered {
    Tensor inputs;  // [R, 3, S, S] host, what the encoder saw
    Tensor codes;   // [R, code_dim] device
};

Rendered encode_rows(nn::DcodrEncoder& encoder, nn::DcodrDecoder& decoder, const data::Dataset& ds,
                     const std::vector<std::int64_t>& rows, Device device) {
    const std::int64_t s = decoder.config().image_size;
    Tensor inputs = data::load_batch(ds, rows, {s, s, 3});
    // The generator's input in training: the normalised code (the head's output, if any).
    Tensor codes = l2_normalize(encoder.encode(inputs.to(device)), 1);
    return {inputs, codes};
}

// Generator output as 3-channel host images (grey tiled), for pictures.
Tensor to_rgb_host(const Tensor& images) {
    Tensor host = images.to(Device::cpu());
    if (host.size(1) == 3) return host;
    return kernels::concat({host, host, host}, 1);
}

}  // namespace

std::vector<std::int64_t> pick_rows(const data::Dataset& ds, std::int64_t rows) {
    DCODR_CHECK(ds.count > 0, "{}: no images to draw", ds.source);
    std::vector<std::vector<std::int64_t>> by_domain(static_cast<std::size_t>(ds.n_domains));
    for (std::int64_t i = 0; i < ds.count; ++i) by_domain[static_cast<std::size_t>(ds.domains[i])].push_back(i);
    const std::int64_t want = std::min(rows, ds.count);
    const std::int64_t per_domain = (want + ds.n_domains - 1) / ds.n_domains;
    std::size_t largest = 0;
    for (const auto& m : by_domain) largest = std::max(largest, m.size());
    // Round r takes, from each domain in turn, the image r/per_domain of the way through it
    // (evenly spaced picks); later rounds, needed when some domains are small, walk the rest.
    std::vector<std::int64_t> picked;
    std::vector<char> used(static_cast<std::size_t>(ds.count), 0);
    for (std::size_t round = 0; round < largest && static_cast<std::int64_t>(picked.size()) < want; ++round)
        for (const auto& members : by_domain) {
            const auto n = static_cast<std::int64_t>(members.size()), r = static_cast<std::int64_t>(round);
            if (r >= n || static_cast<std::int64_t>(picked.size()) == want) continue;
            const std::int64_t i = members[static_cast<std::size_t>(r < per_domain ? r * n / per_domain : r)];
            if (used[static_cast<std::size_t>(i)]) continue;
            used[static_cast<std::size_t>(i)] = 1;
            picked.push_back(i);
        }
    for (std::int64_t i = 0; i < ds.count && static_cast<std::int64_t>(picked.size()) < want; ++i)
        if (!used[static_cast<std::size_t>(i)]) picked.push_back(i);  // what the spacing skipped
    return picked;
}

Tensor domain_swap_tiles(nn::DcodrEncoder& encoder, nn::DcodrDecoder& decoder, const data::Dataset& ds,
                         const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& columns,
                         Device device) {
    NoGradGuard no_grad;
    encoder.eval();
    decoder.eval();
    for (std::int64_t d : columns)
        DCODR_CHECK(d >= 0 && d < decoder.config().n_domains, "domain {} out of range: the decoder knows {} domains", d,
                    decoder.config().n_domains);
    Rendered r = encode_rows(encoder, decoder, ds, rows, device);
    const auto n = static_cast<std::int64_t>(rows.size());
    std::vector<Tensor> per_column;  // [n, 3, S, S] each
    for (std::int64_t d : columns) {
        Tensor ids = Tensor::full({n}, static_cast<double>(d), DType::i64).to(device);
        per_column.push_back(to_rgb_host(decoder.forward(r.codes, ids)));
    }
    std::vector<Tensor> tiles;
    for (std::int64_t i = 0; i < n; ++i) {
        tiles.push_back(r.inputs.slice(0, i, i + 1));
        for (auto& col : per_column) tiles.push_back(col.slice(0, i, i + 1));
    }
    return kernels::concat(tiles, 0);
}

Tensor reconstruction_tiles(nn::DcodrEncoder& encoder, nn::DcodrDecoder& decoder, const data::Dataset& ds,
                            const std::vector<std::int64_t>& rows, Device device) {
    NoGradGuard no_grad;
    encoder.eval();
    decoder.eval();
    Rendered r = encode_rows(encoder, decoder, ds, rows, device);
    std::vector<std::int64_t> own;
    for (std::int64_t i : rows) own.push_back(ds.domains[static_cast<std::size_t>(i)]);
    for (std::int64_t d : own)
        DCODR_CHECK(d < decoder.config().n_domains, "{}: domain {} is not one the decoder was trained on ({} domains)",
                    ds.source, d, decoder.config().n_domains);
    Tensor ids = Tensor::from_vector(own, {static_cast<std::int64_t>(own.size())}).to(device);
    Tensor out = to_rgb_host(decoder.forward(r.codes, ids));
    return kernels::concat({r.inputs, out}, 0);
}

double reconstruction_error(nn::DcodrEncoder& encoder, nn::DcodrDecoder& decoder, const data::Dataset& ds,
                            Device device, std::int64_t batch_size) {
    NoGradGuard no_grad;
    encoder.eval();
    decoder.eval();
    const std::int64_t s = decoder.config().image_size, c = decoder.config().image_channels;
    double total = 0;
    for (std::int64_t start = 0; start < ds.count; start += batch_size) {
        std::vector<std::int64_t> idx;
        for (std::int64_t i = start; i < std::min(ds.count, start + batch_size); ++i) idx.push_back(i);
        Tensor images = data::load_batch(ds, idx, {s, s, 3}).to(device);
        Tensor codes = l2_normalize(encoder.encode(images), 1);
        Tensor out = decoder.forward(codes, data::batch_domains(ds, idx).to(device));
        Tensor target = c == 3 ? images : slice(images, 1, 0, 1);
        total += l1_loss(out, target).item() * static_cast<double>(idx.size());
    }
    return total / static_cast<double>(ds.count);
}

}  // namespace dcodr::method

#include "nn/vgg.h"

#include <cmath>

#include "nn/init.h"
#include "nn/pretrained.h"
#include "nn/state_dict.h"

namespace dcodr::nn {

namespace {
// torchvision's cfg "D": channel counts, 0 = max pooling.
constexpr std::int64_t kVgg16[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
}  // namespace

Vgg16Features::Vgg16Features(double width) : width_(width) {
    DCODR_CHECK(width > 0 && width <= 1, "VGG16: width must be in (0, 1], got {}", width);
    features = register_module("features", std::make_shared<Sequential>());
    std::int64_t in = 3;
    for (std::int64_t c : kVgg16) {
        if (c == 0) {
            features->push_back(std::make_shared<MaxPool2d>(2, 2));
            continue;
        }
        const auto out = std::max<std::int64_t>(1, std::lround(static_cast<double>(c) * width));
        auto conv = std::make_shared<Conv2d>(in, out, 3, 1, 1);
        conv->weight.copy_(kaiming_normal_fan_out(conv->weight.shape()));
        conv->bias.fill_(0.0);
        features->push_back(conv);
        features->push_back(std::make_shared<ReLU>());
        in = out;
    }
    for (auto& p : named_parameters()) p.tensor.set_requires_grad(false);
}

std::vector<Tensor> Vgg16Features::taps(const Tensor& x, const std::vector<std::int64_t>& taps) {
    DCODR_CHECK(!taps.empty() && taps.back() < static_cast<std::int64_t>(features->size()),
                "VGG16: tap indices must lie in [0, {})", features->size());
    DCODR_CHECK(x.dim() == 4 && x.size(1) == 3, "VGG16: expected images [N, 3, H, W], got {}", shape_str(x.shape()));
    std::vector<Tensor> out;
    Tensor y = x;
    std::size_t next = 0;
    for (std::int64_t i = 0; i <= taps.back(); ++i) {
        y = (*features)[static_cast<std::size_t>(i)].forward(y);
        if (next < taps.size() && taps[next] == i) {
            out.push_back(y);
            ++next;
        }
    }
    DCODR_CHECK(next == taps.size(), "VGG16: tap indices must be ascending and distinct");
    return out;
}

void load_vgg16_weights(Vgg16Features& vgg, const std::string& path) {
    // torch.save .pth (either layout; torchvision's vgg16-*.pth is a plain state dict) or safetensors.
    WeightsFile c = read_weights_file(path);
    std::vector<NamedTensor> feats;
    for (auto& nt : c.tensors) {
        // classifier.* and anything else is not part of the feature extractor.
        auto at = nt.name.find("features.");
        if (at != std::string::npos) feats.push_back({nt.name.substr(at), nt.tensor});
    }
    DCODR_CHECK(!feats.empty(),
                "{}: no VGG16 'features.N.weight' tensors found ({} tensors, none named like torchvision's "
                "vgg16().features)", path, c.tensors.size());
    load_state_dict(vgg.state_dict(), feats, true, path);
}

}  // namespace dcodr::nn

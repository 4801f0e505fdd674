#include "nn/resnet.h"

#include <cmath>

#include "nn/init.h"

namespace dcodr::nn {

namespace {
std::shared_ptr<Conv2d> conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t pad) {
    auto c = std::make_shared<Conv2d>(in, out, k, stride, pad, false);
    c->weight.copy_(kaiming_normal_fan_out(c->weight.shape()));  // torchvision's ResNet init
    return c;
}
std::shared_ptr<Sequential> make_downsample(std::int64_t in, std::int64_t out, std::int64_t stride) {
    if (stride == 1 && in == out) return nullptr;
    return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
        conv(in, out, 1, stride, 0), std::make_shared<BatchNorm>(out)});
}
}  // namespace

BasicBlock::BasicBlock(std::int64_t in, std::int64_t planes, std::int64_t stride) {
    conv1 = register_module("conv1", conv(in, planes, 3, stride, 1));
    bn1 = register_module("bn1", std::make_shared<BatchNorm>(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
    bn2 = register_module("bn2", std::make_shared<BatchNorm>(planes));
    downsample = make_downsample(in, planes, stride);
    if (downsample) register_module("downsample", downsample);
}
Tensor BasicBlock::forward(const Tensor& x) {
    Tensor out = (*conv2)(bn1->forward_relu((*conv1)(x)));
    Tensor identity = downsample ? (*downsample)(x) : x;
    return bn2->forward_add_relu(out, identity);  // relu(bn2(out) + identity), one pass
}

Bottleneck::Bottleneck(std::int64_t in, std::int64_t planes, std::int64_t stride) {
    conv1 = register_module("conv1", conv(in, planes, 1, 1, 0));
    bn1 = register_module("bn1", std::make_shared<BatchNorm>(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
    bn2 = register_module("bn2", std::make_shared<BatchNorm>(planes));
    conv3 = register_module("conv3", conv(planes, planes * expansion, 1, 1, 0));
    bn3 = register_module("bn3", std::make_shared<BatchNorm>(planes * expansion));
    downsample = make_downsample(in, planes * expansion, stride);
    if (downsample) register_module("downsample", downsample);
}
Tensor Bottleneck::forward(const Tensor& x) {
    Tensor out = bn1->forward_relu((*conv1)(x));
    out = (*conv3)(bn2->forward_relu((*conv2)(out)));
    Tensor identity = downsample ? (*downsample)(x) : x;
    return bn3->forward_add_relu(out, identity);  // relu(bn3(out) + identity), one pass
}

ResNet::ResNet(int depth, std::int64_t num_classes, double width) {
    std::vector<int> blocks;
    bool bottleneck = false;
    switch (depth) {
        case 18: blocks = {2, 2, 2, 2}; break;
        case 34: blocks = {3, 4, 6, 3}; break;
        case 50: blocks = {3, 4, 6, 3}; bottleneck = true; break;
        default: fail("ResNet: depth must be 18, 34 or 50, got {}", depth);
    }
    DCODR_CHECK(width > 0 && width <= 4, "ResNet: width must be in (0, 4], got {}", width);
    auto ch = [&](std::int64_t c) { return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(c * width))); };
    std::int64_t in = ch(64);
    conv1 = register_module("conv1", conv(3, in, 7, 2, 3));
    bn1 = register_module("bn1", std::make_shared<BatchNorm>(in));
    maxpool = std::make_shared<MaxPool2d>(3, 2, 1);
    std::int64_t expansion = bottleneck ? Bottleneck::expansion : BasicBlock::expansion;
    auto make_layer = [&](const char* name, std::int64_t planes, int count, std::int64_t stride) {
        auto seq = std::make_shared<Sequential>();
        for (int i = 0; i < count; ++i) {
            std::int64_t s = i == 0 ? stride : 1;
            if (bottleneck) seq->push_back(std::make_shared<Bottleneck>(in, planes, s));
            else seq->push_back(std::make_shared<BasicBlock>(in, planes, s));
            in = planes * expansion;
        }
        return register_module(name, seq);
    };
    layer1 = make_layer("layer1", ch(64), blocks[0], 1);
    layer2 = make_layer("layer2", ch(128), blocks[1], 2);
    layer3 = make_layer("layer3", ch(256), blocks[2], 2);
    layer4 = make_layer("layer4", ch(512), blocks[3], 2);
    feature_dim_ = in;
    fc = register_module("fc", std::make_shared<Linear>(in, num_classes));
}

Tensor ResNet::features(const Tensor& x) {
    Tensor y = maxpool->forward(bn1->forward_relu((*conv1)(x)));
    y = (*layer4)((*layer3)((*layer2)((*layer1)(y))));
    return flatten(adaptive_avg_pool2d(y, 1, 1), 1);
}
Tensor ResNet::forward(const Tensor& x) { return fc->forward(features(x)); }

void ResNet::replace_fc(std::shared_ptr<Module> new_fc) {
    replace_module("fc", new_fc);
    fc = std::move(new_fc);
}

}  // namespace dcodr::nn

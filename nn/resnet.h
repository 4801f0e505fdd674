// ResNet-18/34/50 with torchvision's exact topology, parameter names and initialisation
// (kaiming_normal fan_out for convs, BN weight 1 / bias 0, default Linear init for fc),
// so torchvision state dicts load by name.
#pragma once
#include "nn/layers.h"

namespace dcodr::nn {

class BasicBlock : public Module {
public:
    static constexpr std::int64_t expansion = 1;
    BasicBlock(std::int64_t in, std::int64_t planes, std::int64_t stride);
    Tensor forward(const Tensor& x) override;
    std::shared_ptr<Conv2d> conv1, conv2;
    std::shared_ptr<BatchNorm> bn1, bn2;
    std::shared_ptr<Sequential> downsample;  // null when the shapes already match
};

// torchvision's v1.5 bottleneck: the stride sits on the 3x3 conv.
class Bottleneck : public Module {
public:
    static constexpr std::int64_t expansion = 4;
    Bottleneck(std::int64_t in, std::int64_t planes, std::int64_t stride);
    Tensor forward(const Tensor& x) override;
    std::shared_ptr<Conv2d> conv1, conv2, conv3;
    std::shared_ptr<BatchNorm> bn1, bn2, bn3;
    std::shared_ptr<Sequential> downsample;
};

class ResNet : public Module {
public:
    // depth: 18, 34 or 50. width scales every stage's channels (1.0 = torchvision; smaller
    // widths give fast CPU models with the same topology). num_classes sizes fc.
    ResNet(int depth, std::int64_t num_classes = 1000, double width = 1.0);
    Tensor forward(const Tensor& x) override;
    // Everything up to and including the global pooling: [N, feature_dim].
    Tensor features(const Tensor& x);
    std::int64_t feature_dim() const { return feature_dim_; }
    void replace_fc(std::shared_ptr<Module> fc);

    std::shared_ptr<Conv2d> conv1;
    std::shared_ptr<BatchNorm> bn1;
    std::shared_ptr<MaxPool2d> maxpool;
    std::shared_ptr<Sequential> layer1, layer2, layer3, layer4;
    std::shared_ptr<Module> fc;

private:
    std::int64_t feature_dim_ = 0;
};

}  // namespace dcodr::nn

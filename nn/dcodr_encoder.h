// The DCoDR encoder: a torchvision ResNet whose fc is Linear(features -> hidden), then a
// Linear(hidden -> code_dim) producing the code, and an optional head of three
// Linear(code -> code) with LeakyReLU between (the method's "3-layer head").
//
// Names: "resnet.*" (torchvision's, so ImageNet/MoCo weights load into it by name with the
// prefix), "proj.*", "head.0/2/4.*". The code is the head's output when there is a head, as in
// the authors' Encoder_Model: the loss, the generator, evaluation, encode, retrieval and
// translate all see encode() (== forward()). projection() is the output before the head.
#pragma once
#include "nn/resnet.h"

namespace dcodr::nn {

struct EncoderConfig {
    int depth = 50;            // 18, 34 or 50
    double width = 1.0;        // channel multiplier of the ResNet (1 = torchvision)
    std::int64_t hidden = 2048;
    std::int64_t code_dim = 128;
    bool head = false;
};

class DcodrEncoder : public Module {
public:
    explicit DcodrEncoder(const EncoderConfig& config);
    Tensor encode(const Tensor& images);      // [N, 3, H, W] in [0, 1] -> [N, code_dim], the code
    Tensor forward(const Tensor& images) override { return encode(images); }
    Tensor projection(const Tensor& images);  // the Linear(hidden -> code_dim) output, before any head
    const EncoderConfig& config() const { return config_; }

    std::shared_ptr<ResNet> resnet;
    std::shared_ptr<Linear> proj;
    std::shared_ptr<Sequential> head;  // null without a head

private:
    EncoderConfig config_;
};

}  // namespace dcodr::nn

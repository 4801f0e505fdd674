// VGG16's convolutional part (torchvision's `features`, names `features.N.weight/bias`), used
// frozen as the feature extractor of DCoDR's perceptual reconstruction loss.
//
// Module N of `features` is, in torchvision's numbering: conv 0, 2, 5, 7, 10, 12, 14, 17, 19,
// 21, 24, 26, 28; a ReLU after each conv; max pooling 2x2/2 at 4, 9, 16, 23, 30.
#pragma once
#include <string>
#include <vector>

#include "nn/layers.h"

namespace dcodr::nn {

class Vgg16Features : public Module {
public:
    // width scales every convolution's channels (1 = torchvision's, which pretrained weights
    // need; narrower copies serve tests). Weights start as torchvision initialises them
    // (kaiming normal, fan_out, zero bias) from the default generator. Parameters are frozen:
    // they never require grad, so backward computes only what flows to the input.
    explicit Vgg16Features(double width = 1.0);
    // The outputs of the modules at `taps` (ascending indices into `features`); runs the
    // network only as far as the last tap.
    std::vector<Tensor> taps(const Tensor& x, const std::vector<std::int64_t>& taps);
    std::shared_ptr<Sequential> features;
    double width() const { return width_; }

private:
    double width_;
};

// Loads a VGG16 state dict by torchvision names into `vgg` (ImageNet weights need width 1; the
// shapes must match in any case): `features.*` tensors are
// taken, `classifier.*` ignored, and a leading prefix before "features." (e.g. "vgg.",
// "module.") is stripped. Reads torchvision's .pth (torch.save, either layout) and safetensors.
// A missing, extra or mis-shaped feature tensor is an error naming it and the file.
void load_vgg16_weights(Vgg16Features& vgg, const std::string& path);

}  // namespace dcodr::nn

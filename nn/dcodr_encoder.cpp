#include "nn/dcodr_encoder.h"

namespace dcodr::nn {

DcodrEncoder::DcodrEncoder(const EncoderConfig& c) : config_(c) {
    DCODR_CHECK(c.code_dim > 0 && c.hidden > 0, "encoder: code_dim and hidden must be positive");
    resnet = register_module("resnet", std::make_shared<ResNet>(c.depth, 1000, c.width));
    resnet->replace_fc(std::make_shared<Linear>(resnet->feature_dim(), c.hidden));
    proj = register_module("proj", std::make_shared<Linear>(c.hidden, c.code_dim));
    if (c.head) {
        head = register_module("head", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                           std::make_shared<Linear>(c.code_dim, c.code_dim),
                                           std::make_shared<LeakyReLU>(0.01),
                                           std::make_shared<Linear>(c.code_dim, c.code_dim),
                                           std::make_shared<LeakyReLU>(0.01),
                                           std::make_shared<Linear>(c.code_dim, c.code_dim)}));
    }
}

Tensor DcodrEncoder::projection(const Tensor& images) {
    DCODR_CHECK(images.dim() == 4 && images.size(1) == 3, "encoder: expected images [N, 3, H, W], got {}",
                shape_str(images.shape()));
    return proj->forward(resnet->forward(images));
}

Tensor DcodrEncoder::encode(const Tensor& images) {
    Tensor before_head = projection(images);
    return head ? head->forward(before_head) : before_head;
}

}  // namespace dcodr::nn

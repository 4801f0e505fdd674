// Mapping tensor names of checkpoints from the PyTorch world onto dcodr's encoder names, by
// rules rather than by hand (docs/pytorch-checkpoints.md has the table):
//   1. --init-prefix P: only names under P are considered, with P removed;
//   2. --init-map FROM=TO,...: the first matching prefix is replaced;
//   3. wrapper prefixes are stripped wherever they stack: "module." (DataParallel),
//      "_orig_mod." (torch.compile), "encoder_q." (MoCo), "backbone.", "content_encoder."
//      (the DCoDR authors' encoder), "model." (dcodr's own checkpoint);
//      MoCo's momentum encoder ("encoder_k.*", "queue", "queue_ptr") and dcodr's optimizer
//      state ("optim.*") are set aside as not used;
//   4. the DCoDR authors' layout: resnet50.fc.0 -> resnet.fc, resnet50 -> resnet,
//      fc_layers.0 -> proj, siamese -> head;
//   5. torchvision names (conv1, bn1, layer1..4) get the encoder's "resnet." prefix;
//      torchvision's classifier and MoCo's MLP head ("fc.*") are set aside as not used.
// For --names torchvision (dcodr convert) steps 1-4 apply and "resnet." is removed instead.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace dcodr::nn {

enum class NameTarget { dcodr, torchvision, keep };
NameTarget parse_name_target(const std::string& text);  // "dcodr", "torchvision", "keep"

struct NameRules {
    std::string prefix;                                    // --init-prefix
    std::vector<std::pair<std::string, std::string>> map;  // --init-map, in order
    NameTarget target = NameTarget::dcodr;
};

// "FROM=TO,FROM2=TO2" (TO may be empty: FROM is removed).
std::vector<std::pair<std::string, std::string>> parse_name_map(const std::string& text);

struct MappedName {
    std::string name;    // the target name; empty when the tensor is not used
    std::string reason;  // why it is not used
};

MappedName map_name(const std::string& name, const NameRules& rules);

}  // namespace dcodr::nn

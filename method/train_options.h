// The training options, each named once. One table row per TrainConfig field holds its flag,
// its JSON key, its help line and group, how it reads and writes the field, and its valid range.
// Everything that used to list the fields by hand is derived from it:
//   * the command-line flags and their grouped help (tools/train_flags.cpp),
//   * TrainConfig::to_json / from_json: the JSON in checkpoints, eval.json and --config files,
//   * resume's rule (explicit flags override the checkpoint; --init* always the checkpoint's),
//   * check_train_config's per-option ranges (the rules that tie options together follow them).
// Adding an option: a field in TrainConfig, one row in train_options.cpp (the build breaks at
// the structured binding there until the field is listed), and the code that uses it.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "method/trainer.h"
#include "nn/json.h"

namespace dcodr::method {

enum class OptionKind { boolean, integer, number, text };

struct TrainOption {
    std::string flag;   // command-line name without the dashes: "code-dim"
    std::string key;    // JSON key: "code_dim" (the flag with '_' for '-', except --steps: "max_steps")
    std::string group;  // help section: data, model, method, optimisation, output
    std::string help;
    OptionKind kind = OptionKind::text;
    std::function<json::Value(const TrainConfig&)> get;
    // Throws dcodr::Error when the JSON value has the wrong type (the caller adds where it came from).
    std::function<void(TrainConfig&, const json::Value&)> set;
    // Throws dcodr::Error starting "--<flag> must ..." when the field's value is out of range.
    std::function<void(const TrainConfig&)> check;
    std::function<const void*(const TrainConfig&)> member;  // the field's address (the coverage test)
    // false: checkpoints written before the option existed lack it, and read as its default.
    bool required = true;
    // --init*: on --resume the value is always the checkpoint's (where its weights came from).
    bool keep_saved_on_resume = false;
    // Given on the command line, it also sets this option unless that one is given too
    // (--gen-lr sets the encoder's --lr, as the authors' single flag does).
    std::string also_sets;
};

// In help order: grouped, and within a group in the order a reader needs them.
const std::vector<TrainOption>& train_options();
const TrainOption* find_train_option_by_key(std::string_view key);
const TrainOption* find_train_option_by_flag(std::string_view flag);

// Sets the options present in the JSON object `v` on `c`. `source` names where `v` came from in
// messages ("--config run.json", a checkpoint's path). Unknown keys are an error naming the key
// when `reject_unknown` (a --config file), skipped otherwise; a key of a required option that
// is absent is an error when `require_all` (a checkpoint's configuration).
void set_train_options(TrainConfig& c, const json::Value& v, const std::string& source, bool reject_unknown,
                       bool require_all);

// Every option's range (in table order), then the rules that tie options together (batch
// memory, the generator's shape). Each message starts with the flag it blames.
void check_train_config(const TrainConfig& c);

// The addresses of all TrainConfig data members that are options, i.e. all except the run's
// place and voice (device, out_dir, quiet), listed by structured binding so a new member breaks
// the build until it is listed. A test compares them with the table's `member`s.
std::vector<const void*> train_config_option_members(const TrainConfig& c);

}  // namespace dcodr::method

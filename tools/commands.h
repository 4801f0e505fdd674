// The dcodr subcommands; each returns a process exit code.
#pragma once

namespace dcodr::tools {

int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_encode(int argc, char** argv);
int cmd_generate_data(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_inspect(int argc, char** argv);

}  // namespace dcodr::tools

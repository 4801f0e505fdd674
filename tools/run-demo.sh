#!/usr/bin/env bash
# The main job: set up, then train DCoDR (with its decoder), DCoDR-norec and the
# standard-contrastive baseline on the built-in synthetic data and print the three evaluations
# side by side, with DCoDR's domain-swap grid. Extra arguments go to
# `dcodr demo` (see `build/tools/dcodr demo --help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh tools/dcodr   # the tool only: the tests are not needed here
exec "${DCODR_BUILD_DIR:-build}/tools/dcodr" demo "$@"

// `stereospot eval synth|depth`: accuracy checks of the stereo engine on real stereo pairs.
//
//   stereospot eval synth LEFT RIGHT DISPARITY --scale S [--border 20]
//       renders the right view from LEFT and its disparity image (value / S = pixels, 0 =
//       unknown, left pixel x appears in the right view at x - d) with each renderer and prints
//       the PSNR against RIGHT over known pixels at least --border pixels from the edges.
//   stereospot eval depth IMAGE DISPARITY --scale S [--depth BACKEND]
//       prints the Spearman rank correlation of BACKEND's depth (default builtin) with the true
//       disparity over the known pixels.
//
// Errors are printed to stderr and the command fails (CLI::RuntimeError with kExitFailure for
// unreadable inputs or backend errors; CLI11's usage error for bad arguments).
#pragma once

#include <CLI/CLI.hpp>

namespace stereospot::cli {

// Adds the `eval` subcommand and its two subcommands to `app`.
void RegisterEvalCommand(CLI::App& app);

}  // namespace stereospot::cli

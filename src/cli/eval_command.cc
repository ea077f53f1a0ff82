#include "cli/eval_command.h"

#include <cstdio>
#include <memory>
#include <string>

#include "cli/cli_context.h"
#include "stereo/eval.h"

namespace stereospot::cli {
namespace {

struct SynthArgs {
  std::string left, right, disparity;
  double scale = 0.0;
  int border = 20;
};

struct DepthArgs {
  std::string image, disparity;
  double scale = 0.0;
  std::string backend = "builtin";
  int depth_resolution = 0;
};

void RunSynth(const SynthArgs& a) {
  auto scores = stereo::EvalSynth(a.left, a.right, a.disparity, a.scale, a.border);
  if (!scores.ok()) throw CLI::RuntimeError(ReportError(scores.status()));
  for (const auto& s : *scores) {
    std::printf("%-9s %.2f dB\n", std::string(stereo::RenderMethodName(s.method)).c_str(),
                s.psnr_db);
  }
}

void RunDepth(const DepthArgs& a) {
  auto rho = stereo::EvalDepth(a.image, a.disparity, a.scale, a.backend, a.depth_resolution);
  if (!rho.ok()) throw CLI::RuntimeError(ReportError(rho.status()));
  std::printf("%s spearman %.4f\n", a.backend.c_str(), *rho);
}

}  // namespace

void RegisterEvalCommand(CLI::App& app) {
  CLI::App* eval = app.add_subcommand("eval", "Accuracy checks of the stereo engine");
  eval->require_subcommand(1);

  auto synth_args = std::make_shared<SynthArgs>();
  CLI::App* synth = eval->add_subcommand(
      "synth", "PSNR of the right view rendered from LEFT + DISPARITY, for each renderer");
  synth->add_option("LEFT", synth_args->left, "Left view (the reference)")->required();
  synth->add_option("RIGHT", synth_args->right, "Real right view")->required();
  synth
      ->add_option("DISPARITY", synth_args->disparity,
                   "Disparity of the left view (value / scale = pixels, 0 = unknown)")
      ->required();
  synth->add_option("--scale", synth_args->scale, "Disparity image value per pixel")
      ->required()
      ->check(CLI::PositiveNumber);
  synth->add_option("--border", synth_args->border, "Pixels excluded at each edge")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  synth->callback([synth_args] { RunSynth(*synth_args); });

  auto depth_args = std::make_shared<DepthArgs>();
  CLI::App* depth = eval->add_subcommand(
      "depth", "Spearman correlation of estimated depth with the true disparity");
  depth->add_option("IMAGE", depth_args->image, "Image (the disparity's reference view)")
      ->required();
  depth
      ->add_option("DISPARITY", depth_args->disparity,
                   "Disparity of IMAGE (value / scale = pixels, 0 = unknown)")
      ->required();
  depth->add_option("--scale", depth_args->scale, "Disparity image value per pixel")
      ->required()
      ->check(CLI::PositiveNumber);
  depth->add_option("--depth", depth_args->backend, "Depth backend: builtin | onnx:<path>")
      ->capture_default_str();
  depth
      ->add_option("--depth-resolution", depth_args->depth_resolution,
                   "Short side the backend works at, px (0 = the image's own)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  depth->callback([depth_args] { RunDepth(*depth_args); });
}

}  // namespace stereospot::cli

// Accuracy checks on real stereo pairs: view synthesis PSNR and depth rank correlation.
//
// Pairs follow the Middlebury convention: the left view is the reference, its disparity image
// stores value = disparity * scale (0 = unknown), and a left pixel at x appears in the right view
// at x - disparity. These functions back `stereospot eval synth|depth` and the stereo tests, so a
// new pair is checked by pointing the CLI at it.
//
// All functions are thread-safe (no shared state) and return errors as Status, never throw.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/result.h"
#include "stereo/stereo_options.h"

namespace stereospot::stereo {

// PSNR in dB (peak 255) between two CV_8UC3 images over the non-zero pixels of `mask` (CV_8UC1),
// all channels. Identical images give +infinity.
// Errors: kInvalidArgument for mismatched sizes or types, or an empty mask.
Result<double> MaskedPsnr(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask);

// Spearman rank correlation (ties get their average rank) between two single-channel maps of the
// same size, over the non-zero pixels of `mask` (CV_8UC1). Maps of type CV_32FC1 or CV_8UC1.
// Errors: kInvalidArgument for mismatched sizes or types, or fewer than 2 masked pixels.
Result<double> SpearmanCorrelation(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask);

// Reads a disparity image (8 or 16 bit, one channel) as CV_32FC1 pixels (value / scale).
// Errors: kNotFound when the file cannot be read, kInvalidArgument for a bad scale or format.
Result<cv::Mat> ReadDisparity(const std::string& path, double scale);

// Replaces unknown (zero) disparities by the nearest known one in the same row, and rows with no
// known value by the nearest row that has one. Used so that every source pixel has a shift.
cv::Mat FillUnknownDisparity(const cv::Mat& disparity);

// The mask of pixels scored by EvalSynth: known disparity and at least `border` pixels from every
// edge.
cv::Mat SynthEvalMask(const cv::Mat& disparity, int border);

struct RendererScore {
  RenderMethod method;
  double psnr_db;
};

// Renders the right view from `left` (CV_8UC3) and its disparity (CV_32FC1, pixels, 0 = unknown)
// with every renderer and scores each against `right` over SynthEvalMask(disparity, border).
// Errors: kInvalidArgument for mismatched inputs, a negative border or an empty mask.
Result<std::vector<RendererScore>> EvalSynthImages(const cv::Mat& left, const cv::Mat& right,
                                                   const cv::Mat& disparity, int border);

// The same from files (any format imgcodecs reads). kNotFound names a missing file.
Result<std::vector<RendererScore>> EvalSynth(const std::string& left_path,
                                             const std::string& right_path,
                                             const std::string& disparity_path, double scale,
                                             int border);

// Runs the depth backend `backend` (see MakeDepthEstimator) on the image at `image_path` and
// returns the Spearman correlation of its depth, upsampled to the image size, with the true
// disparity (larger = nearer in both) over the pixels of known disparity. The backend works at
// `depth_resolution` px on the short side (0 = the image's own short side).
// Errors: those of reading the files and of the backend; kInvalidArgument for a negative
// depth_resolution.
Result<double> EvalDepth(const std::string& image_path, const std::string& disparity_path,
                         double scale, const std::string& backend, int depth_resolution = 0);

}  // namespace stereospot::stereo

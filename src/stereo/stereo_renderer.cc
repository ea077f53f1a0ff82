#include "stereo/stereo_renderer.h"

#include <string>

#include <opencv2/imgproc.hpp>

#include "stereo/packing.h"

namespace stereospot::stereo {

Result<StereoRenderer> StereoRenderer::Create(const StereoOptions& options) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateStereoOptions(options));
  return StereoRenderer(options);
}

Status StereoRenderer::Render(const cv::Mat& frame, const cv::Mat& depth, cv::Mat* out) {
  if (frame.empty() || frame.type() != CV_8UC3) {
    return Status::InvalidArgument("stereo: frame must be a non-empty CV_8UC3 image");
  }
  if (options_.layout == Layout::kRgbd) return PackRgbd(frame, depth, out);
  STEREOSPOT_RETURN_IF_ERROR(ShiftFromDepth(depth, options_.divergence, options_.convergence,
                                            frame.cols, frame.rows, &shift_));
  return RenderWithShift(frame, shift_, out);
}

Status StereoRenderer::RenderWithShift(const cv::Mat& frame, const cv::Mat& shift, cv::Mat* out) {
  if (out == nullptr) return Status::InvalidArgument("stereo: null output");
  if (frame.empty() || frame.type() != CV_8UC3) {
    return Status::InvalidArgument("stereo: frame must be a non-empty CV_8UC3 image");
  }
  if (options_.layout == Layout::kRgbd) {
    return Status::InvalidArgument("stereo: rgbd needs depth, not a shift map; use Render");
  }
  STEREOSPOT_ASSIGN_OR_RETURN(const cv::Size size,
                              PackedSize(options_.layout, frame.cols, frame.rows));
  if (out->data != nullptr && out->data == frame.data) {
    return Status::InvalidArgument("stereo: output must not alias the frame");
  }
  const RenderMethod method = options_.renderer;
  try {
    const int w = frame.cols, h = frame.rows;
    cv::Rect first, second;
    switch (options_.layout) {
      case Layout::kSbs:
      case Layout::kCross:
        first = cv::Rect(0, 0, w, h);
        second = cv::Rect(w, 0, w, h);
        break;
      case Layout::kTb:
        first = cv::Rect(0, 0, w, h);
        second = cv::Rect(0, h, w, h);
        break;
      default:
        break;
    }
    if (!first.empty()) {
      if (out->size() != size || out->type() != CV_8UC3) out->create(size, CV_8UC3);
      // Cross-eyed puts the right eye first; swap_eyes exchanges whatever the layout says.
      const bool left_first = (options_.layout != Layout::kCross) != options_.swap_eyes;
      cv::Mat a = (*out)(first), b = (*out)(second);
      STEREOSPOT_RETURN_IF_ERROR(
          synth_.Render(frame, shift, Eye::kLeft, method, left_first ? &a : &b));
      return synth_.Render(frame, shift, Eye::kRight, method, left_first ? &b : &a);
    }
    STEREOSPOT_RETURN_IF_ERROR(synth_.Render(frame, shift, Eye::kLeft, method, &left_));
    STEREOSPOT_RETURN_IF_ERROR(synth_.Render(frame, shift, Eye::kRight, method, &right_));
    return PackViews(left_, right_, options_, out);
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("stereo: OpenCV: ") + e.what());
  }
}

}  // namespace stereospot::stereo

// ConvertStereoSegment: one chunked segment file in, its stereo conversion out (DESIGN.md
// section 6, "Segment conversion"). File to file, no stores or queues: the segment processor
// (segment_processor.h) fetches the inputs and publishes the output.
//
// Two passes over the segment, because media::ConvertSegment's callback must return each frame
// at once while temporal normalisation looks ahead:
//   pass 1 decodes every frame (media::DecodeFrames), detects scene cuts, estimates depth and
//          measures each frame's depth range; with `warmup_segment` (the previous segment of the
//          same source) its last frames are run first, so the range state, the scene-cut
//          detector and the depth backend's own state continue across the segment boundary;
//   pass 2 converts (media::ConvertSegment): the depth of each frame (kept from pass 1 while it
//          fits memory_budget_bytes, else estimated again in the same order from the same
//          state, which gives the same values), normalised with the planned range, foreground
//          edges dilated, both views rendered and packed straight into the encoder's frame.
// So the output is a pure function of the segment, its predecessor and the parameters: a
// re-run (redelivery, crash recovery) writes the same frames.
//
// Guarantees: frames out == frames in, timestamps kept (media::ConvertSegment's). The output is
// written under a temporary name and renamed when complete; a failed or cancelled call leaves
// no output.
//
// Errors: kInvalidArgument / kPermanent for parameters this build cannot honour or input that
// is not a decodable video (permanent: a retry cannot help); kCancelled when `cancelled`
// returned true; kIoError / kUnavailable for I/O.
// Threading: reentrant; one call uses the calling thread plus the codec's threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/conversion_params.h"
#include "core/result.h"

namespace stereospot::pipeline {

struct StereoSegmentProgress {
  int pass = 1;             // 1: analysis, 2: conversion
  std::int64_t frames = 0;  // frames of this segment done in this pass
  double seconds = 0;       // wall time of this pass so far
};

struct StereoSegmentOptions {
  // Frames of the previous segment run before this one (0 = no warm-up even when given).
  // Default: 32, more than the normaliser's look-ahead plus its smoothing memory (3 / 0.15).
  int warmup_frames = 32;
  // Pass 1 depth maps are kept for pass 2 while their total size stays below this; beyond it
  // pass 2 estimates again (same results, more time). Default: 512 MiB.
  std::int64_t memory_budget_bytes = 512LL << 20;
  // Codec threads (decoder and encoder); 0 = automatic.
  int threads = 0;
  // Polled between frames; true stops the work with kCancelled. May be empty.
  std::function<bool()> cancelled;
  // Called every `progress_every` frames of each pass. May be empty.
  std::function<void(const StereoSegmentProgress&)> progress;
  int progress_every = 50;
};

struct StereoSegmentStats {
  std::int64_t frames = 0;
  std::int64_t warmup_frames = 0;  // frames of the previous segment actually used
  int scene_cuts = 0;              // within this segment (its first frame not counted)
  int width_out = 0;
  int height_out = 0;
  bool depth_reused = false;  // pass 2 used pass 1's depth maps
  double analysis_seconds = 0;
  double conversion_seconds = 0;
};

// Converts `input_segment` into `output_path` (MP4) with `params`. `warmup_segment` may be empty
// (first segment).
Result<StereoSegmentStats> ConvertStereoSegment(const std::string& input_segment,
                                                const std::string& warmup_segment,
                                                const std::string& output_path,
                                                const ConversionParams& params,
                                                const StereoSegmentOptions& options = {});

}  // namespace stereospot::pipeline

// ConvertStereoSegment: one chunked segment file in, its stereo conversion out (DESIGN.md
// section 6, "Segment conversion"). File to file, no stores or queues: the segment processor
// (segment_processor.h) fetches the inputs and publishes the output.
//
// One pass over the segment and one decode of it, although media::ConvertSegment's callback
// must return each frame at once while temporal normalisation looks ahead:
//   the analysis thread first, with `warmup_segment` (the previous segment of the same
//          source), runs the last warmup_frames frames of that segment (only its tail is
//          decoded) through scene-cut detection, depth and the normaliser, so all three
//          continue across the boundary; meanwhile
//   the calling thread decodes the segment (media::ConvertSegment with a look-ahead): each
//          frame's analysis image, at the depth stage's size, goes to the analysis thread as
//          soon as it is decoded, while the decoded picture itself waits (shared, not copied)
//          until the normaliser's look-ahead has passed it;
//   the analysis thread then detects scene cuts, estimates depth, normalises it over time
//          (stereo::TemporalNormaliser, which needs `lookahead` frames after each one), dilates
//          foreground edges and queues the maps;
//   the calling thread then renders each held frame's views with its map, packed straight into
//          the encoder's frame.
// At most the look-ahead plus a few frames are in flight, so memory does not grow with the
// segment, and analysis overlaps decoding and encoding instead of preceding them.
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
// Threading: reentrant; one call uses the calling thread, one analysis thread and the codecs'
// threads. `cancelled` and `progress` are called on the calling thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/conversion_params.h"
#include "core/result.h"

namespace stereospot::pipeline {

struct StereoSegmentProgress {
  std::int64_t frames = 0;  // frames of this segment encoded so far
  double seconds = 0;       // wall time of the conversion so far
};

struct StereoSegmentOptions {
  // Frames of the previous segment run before this one (0 = no warm-up even when given).
  // Default: 32, more than the normaliser's look-ahead plus its smoothing memory (3 / 0.15).
  int warmup_frames = 32;
  // Codec threads (decoder and encoder); 0 = automatic.
  int threads = 0;
  // Polled between frames; true stops the work with kCancelled. May be empty.
  std::function<bool()> cancelled;
  // Called every `progress_every` frames encoded. May be empty.
  std::function<void(const StereoSegmentProgress&)> progress;
  int progress_every = 50;
};

struct StereoSegmentStats {
  std::int64_t frames = 0;
  std::int64_t warmup_frames = 0;  // frames of the previous segment actually used
  int scene_cuts = 0;              // within this segment (its first frame not counted)
  int width_out = 0;
  int height_out = 0;
  double analysis_seconds = 0;    // the analysis thread's run (overlaps the conversion)
  double conversion_seconds = 0;  // the whole call
};

// Converts `input_segment` into `output_path` (MP4) with `params`. `warmup_segment` may be empty
// (first segment).
Result<StereoSegmentStats> ConvertStereoSegment(const std::string& input_segment,
                                                const std::string& warmup_segment,
                                                const std::string& output_path,
                                                const ConversionParams& params,
                                                const StereoSegmentOptions& options = {});

}  // namespace stereospot::pipeline

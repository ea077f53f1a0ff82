// `stereospot convert IN -o OUT [parameters]`: one local file through the whole pipeline
// (chunking, parallel segment conversion, reassembly) on a private embedded backend in a
// temporary directory, with progress on the terminal.
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli/workers.h"
#include "core/conversion_params.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "media/libav_log.h"
#include "media/probe.h"
#include "pipeline/processors.h"

namespace stereospot::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_interrupted = 0;
void OnInterrupt(int) { g_interrupted = 1; }

struct ConvertArgs {
  std::string input;
  std::string output;
  bool force = false;
  bool keep_work = false;
  // Parameters exactly as given; unset ones take ConversionParams' defaults.
  std::map<std::string, std::string> text;
  std::map<std::string, double> numbers;
  std::map<std::string, bool> flags;
};

// The work directory, removed at the end unless asked to keep it.
class WorkDir {
 public:
  explicit WorkDir(bool keep) : keep_(keep) {
    std::string pattern = (fs::temp_directory_path() / "stereospot-convert-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~WorkDir() {
    if (path_.empty()) return;
    if (keep_) {
      std::cerr << "work directory kept: " << path_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool keep_;
};

std::string Clock2(double seconds) {
  if (seconds < 0 || seconds > 360000) return "--:--";
  const int s = static_cast<int>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%d:%02d", s / 60, s % 60);
  }
  return buf;
}

// Progress: segments done / total from the job store; frames encoded so far (the workers'
// live count, so a long segment shows progress too) over the wall time as fps; the ETA from the
// source's expected frame count at that pace (or from the pace of finished segments when the
// frame count is unknown).
class ProgressPrinter {
 public:
  // expected_frames: the source's frame count as estimated from its duration, 0 if unknown.
  ProgressPrinter(bool terminal, std::int64_t expected_frames)
      : terminal_(terminal), expected_frames_(expected_frames), start_(Clock::now()) {}

  void Update(const Job& job, const std::vector<SegmentCompletion>& completions,
              double encoded_frames) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    double frames = 0;
    for (const auto& c : completions) frames += static_cast<double>(c.frames);
    // A retried segment is counted twice by the live count; completed frames are a floor.
    frames = std::max(frames, encoded_frames);
    if (expected_frames_ > 0) frames = std::min(frames, static_cast<double>(expected_frames_));
    const int done = static_cast<int>(completions.size());
    const int total = job.total_segments;
    const double fps = elapsed > 0 ? frames / elapsed : 0;
    double eta = -1;
    if (expected_frames_ > 0 && fps > 0) {
      eta = (static_cast<double>(expected_frames_) - frames) / fps;
    } else if (done > 0 && total > 0) {
      eta = elapsed / done * (total - done);
    }
    std::string stage(JobStatusName(job.status));
    if (terminal_) {
      constexpr int kWidth = 30;
      const int filled =
          expected_frames_ > 0
              ? static_cast<int>(kWidth * frames / static_cast<double>(expected_frames_))
          : total > 0 ? kWidth * done / total
                      : 0;
      std::cerr << "\r[" << std::string(static_cast<size_t>(filled), '#')
                << std::string(static_cast<size_t>(kWidth - filled), '-') << "] " << done << "/"
                << (total > 0 ? std::to_string(total) : "?") << " segments  "
                << static_cast<int>(fps * 10) / 10.0 << " fps  ETA " << Clock2(eta) << "  " << stage
                << "      " << std::flush;
      return;
    }
    // Plain lines: at every change of stage or finished segment, and every 10 s in between.
    if (done == last_done_ && stage == last_stage_ && elapsed < last_line_ + 10) return;
    last_done_ = done;
    last_stage_ = stage;
    last_line_ = elapsed;
    std::cerr << "progress: " << stage << " segments=" << done << "/" << total
              << " frames=" << static_cast<std::int64_t>(frames)
              << " fps=" << static_cast<int>(fps * 10) / 10.0 << " eta=" << Clock2(eta)
              << " elapsed=" << Clock2(elapsed) << "\n";
  }

  void Finish() {
    if (terminal_) std::cerr << "\n";
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  bool terminal_;
  std::int64_t expected_frames_;
  Clock::time_point start_;
  int last_done_ = -1;
  std::string last_stage_;
  double last_line_ = 0;
};

Result<ConversionParams> ParamsFrom(const ConvertArgs& args) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, value] : args.text) json[key] = value;
  for (const auto& [key, value] : args.numbers) {
    if (key == "crf" || key == "depth_resolution" || key == "edge_dilation") {
      json[key] = static_cast<int>(value);
    } else {
      json[key] = value;
    }
  }
  for (const auto& [key, value] : args.flags) json[key] = value;
  return ConversionParams::FromJson(json);
}

int RunConvert(const GlobalOptions& globals, const ConvertArgs& args) {
  auto params = ParamsFrom(args);
  if (!params.ok()) {
    ReportError(params.status());
    return kExitUsage;
  }
  std::error_code ec;
  if (!fs::is_regular_file(args.input, ec)) {
    return ReportError(Status::NotFound("no such file: " + args.input));
  }
  const fs::path output = fs::absolute(args.output);
  if (fs::is_directory(output, ec)) {
    return ReportError(Status::InvalidArgument("-o names a directory: " + args.output));
  }
  if (!fs::is_directory(output.parent_path(), ec)) {
    return ReportError(Status::NotFound("the output's directory does not exist: " +
                                        output.parent_path().string()));
  }
  if (fs::exists(output, ec) && !args.force) {
    return ReportError(Status::AlreadyExists(args.output + " exists (pass --force to replace it)"));
  }
  media::RouteLibavLogs();
  // Refuse what is not a video before any work, with the prober's reason.
  auto probed = media::Probe(args.input, {.scan_packets = false});
  if (!probed.ok()) {
    return ReportError(Status::InvalidArgument(
        args.input + " is not a decodable video: " + probed.status().message()));
  }

  WorkDir work(args.keep_work);
  if (work.path().empty()) return ReportError(Status::IoError("cannot create a work directory"));
  GlobalOptions private_globals = globals;
  private_globals.data_dir = work.path().string();
  auto loaded = LoadConfigOrReport(private_globals);
  if (!loaded) return kExitUsage;
  Config config = loaded->config;
  config.backend = "embedded";
  config.queue_wait_seconds = 1;
  // One process, nothing to share the work with: segments beyond one per video worker only add
  // boundaries, each a warm-up of the depth normalisation, an encoder start and an IDR picture
  // (docs/operations.md, Speed). Long files are still cut every chunking.target_seconds, and a
  // setting given explicitly wins.
  const auto origin = loaded->origins.find("chunking.min_segments");
  if (origin == loaded->origins.end() || origin->second == ConfigOrigin::kDefault) {
    config.chunking_min_segments =
        std::max(1, PoolOptionsFrom(config, WorkerRole::kAll, /*janitor=*/false).video_workers);
  }
  auto backend = OpenBackend(config, OpenMode::kCreate);
  if (!backend.ok()) return ReportError(backend.status());

  Job job;
  job.job_id = NewJobId();
  job.params = params->ToJson();
  job.title = fs::path(args.input).filename().string();
  std::string ext = fs::path(args.input).extension().string();
  if (!ext.empty()) ext = ext.substr(1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto source_key = BuildSourceKey(job.job_id, ext);
  if (!source_key.ok()) source_key = BuildSourceKey(job.job_id, "bin");
  job.source_key = *source_key;
  Status s = backend->jobs->Create(job);
  if (s.ok()) s = backend->objects->PutFile(job.source_key, args.input);
  if (s.ok()) {
    JobUpdate uploaded;
    uploaded.uploaded_at = NowMillis();
    uploaded.source_bytes = probed->file_bytes;
    s = backend->jobs->UpdateFields(job.job_id, uploaded);
  }
  if (s.ok()) {
    s = (*backend->Queue(kChunkingQueue))->Send(EncodeJobMessage({job.job_id})).status();
  }
  if (!s.ok()) return ReportError(s);

  pipeline::MetricsRegistry metrics;
  auto pool = StartWorkers(config, *backend, WorkerRole::kAll, /*janitor=*/false, &metrics,
                           {.stop_latency = std::chrono::milliseconds(100)});
  if (!pool.ok()) return ReportError(pool.status());
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);

  const double rate = probed->video.avg_frame_rate.num > 0 ? probed->video.avg_frame_rate.ToDouble()
                                                           : probed->video.frame_rate.ToDouble();
  const auto expected_frames = static_cast<std::int64_t>(probed->duration_seconds * rate + 0.5);
  auto encoded = metrics.GetCounter(pipeline::kFramesEncodedMetric, pipeline::kFramesEncodedHelp);
  ProgressPrinter progress(isatty(STDERR_FILENO) != 0, expected_frames);
  Result<Job> current = backend->jobs->Get(job.job_id);
  while (!g_interrupted) {
    current = backend->jobs->Get(job.job_id);
    if (!current.ok()) break;
    auto completions = backend->jobs->ListCompletions(job.job_id);
    if (completions.ok()) {
      progress.Update(*current, *completions, encoded.ok() ? (*encoded)->value() : 0.0);
    }
    if (IsTerminal(current->status)) break;
    // Two indexed reads: cheap enough to notice the job's end promptly.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  progress.Finish();
  (*pool)->Stop();
  (*pool)->Join();
  if (g_interrupted) return ReportError(Status::Cancelled("interrupted; nothing was written"));
  if (!current.ok()) return ReportError(current.status());
  if (current->status != JobStatus::kCompleted) {
    const std::string reason =
        current->error ? current->error->stage + ": " + current->error->message : "no reason";
    return ReportError(Status::Permanent("conversion failed: " + reason));
  }
  auto final_key = BuildFinalKey(job.job_id);
  s = final_key.ok() ? backend->objects->GetFile(*final_key, output) : final_key.status();
  if (!s.ok()) return ReportError(s);
  std::cerr << "wrote " << output.string() << " (" << current->total_segments
            << (current->total_segments == 1 ? " segment, " : " segments, ")
            << Clock2(progress.elapsed()) << "; a player-friendly name would end in "
            << LayoutDownloadSuffix(params->layout, params->anaglyph) << ")\n";
  return kExitOk;
}

}  // namespace

void RegisterConvertCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* convert = app.add_subcommand(
      "convert", "Convert one video file to stereo 3D through the full pipeline");
  convert->add_option("IN", args->input, "Input video")->required();
  convert->add_option("-o,--output", args->output, "Output MP4")->required();
  convert->add_flag("--force", args->force, "Replace the output if it exists");
  convert->add_flag("--keep-work", args->keep_work, "Keep the temporary work directory");
  // Text parameters, checked by the same validator as the API's.
  for (const char* name : {"layout", "anaglyph", "depth", "codec", "preset", "pix_fmt"}) {
    std::string flag = std::string("--") + name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    convert->add_option_function<std::string>(
        flag, [args, key = std::string(name)](const std::string& v) { args->text[key] = v; },
        "See docs (DESIGN.md section 6)");
  }
  for (const char* name :
       {"divergence", "convergence", "crf", "depth_resolution", "edge_dilation"}) {
    std::string flag = std::string("--") + name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    convert->add_option_function<double>(
        flag, [args, key = std::string(name)](double v) { args->numbers[key] = v; },
        "See docs (DESIGN.md section 6)");
  }
  convert->add_flag_function(
      "--no-temporal", [args](std::int64_t) { args->flags["temporal"] = false; },
      "Normalise depth per frame instead of over time");
  convert->add_flag_function(
      "--swap-eyes", [args](std::int64_t) { args->flags["swap_eyes"] = true; }, "Right eye first");
  convert->callback([&ctx, args] { ctx.exit_code = RunConvert(ctx.globals, *args); });
}

}  // namespace stereospot::cli

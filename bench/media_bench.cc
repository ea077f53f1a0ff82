// Media engine benchmarks against the ffmpeg CLI (issue 4). One run, three ratios:
//   chunking     Probe + PlanSegments + CutSegments  vs  ffmpeg -c copy -f segment
//   reassembly   Reassemble (concat + audio mux)     vs  ffmpeg -f concat -c copy + audio map
//   transcode    ConvertSegment identity, x264       vs  ffmpeg -c:v libx264, same settings
// A ratio is our wall time over the CLI's (below 1 = faster). Bars: chunking and reassembly
// <= 1.2, transcode <= 1.1. The chunking source is a generated file of --gb gigabytes (default 1)
// so the peak memory printed shows the cut streams instead of loading the file.
//
// Usage: media_bench [--gb N] [--work DIR] [--clip PATH] [--reps N (default 3)]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/resource.h>

extern "C" {
#include <libavutil/log.h>
}

#include "media/frame_pipeline.h"
#include "media/probe.h"
#include "media/reassembler.h"
#include "media/segment_cutter.h"

namespace fs = std::filesystem;
using namespace stereospot::media;  // NOLINT: a benchmark program

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool Sh(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "command failed: %s\n", cmd.c_str());
    return false;
  }
  return true;
}

double CpuSeconds(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Timing {
  double ours_wall = 1e30, cli_wall = 1e30;  // best wall time of each side
  double ours_cpu = 1e30, cli_cpu = 1e30;    // best CPU time (user + system) of each side
  std::string Ratios() const {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "ours %.2f s, ffmpeg %.2f s, wall ratio %.2f, CPU ratio %.2f",
                  ours_wall, cli_wall, ours_wall / cli_wall, ours_cpu / cli_cpu);
    return buf;
  }
};

// The machine is shared: run ours and theirs alternately `reps` times and keep each side's best
// time, so a burst of someone else's work does not decide the ratio. CPU time (ours from
// RUSAGE_SELF, the CLI's from RUSAGE_CHILDREN) is printed too: it is far less sensitive to load.
template <typename Ours>
Timing BestOf(int reps, Ours ours, const std::string& cli) {
  Timing t;
  for (int i = 0; i < reps; ++i) {
    double wall = Now(), cpu = CpuSeconds(RUSAGE_SELF);
    ours();
    t.ours_wall = std::min(t.ours_wall, Now() - wall);
    t.ours_cpu = std::min(t.ours_cpu, CpuSeconds(RUSAGE_SELF) - cpu);
    wall = Now();
    cpu = CpuSeconds(RUSAGE_CHILDREN);
    if (!Sh(cli)) std::exit(1);
    t.cli_wall = std::min(t.cli_wall, Now() - wall);
    t.cli_cpu = std::min(t.cli_cpu, CpuSeconds(RUSAGE_CHILDREN) - cpu);
  }
  return t;
}

long MaxRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

template <typename T>
T Check(stereospot::Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

// A source of about `gb` gigabytes with audio: 30 s of 720p made once, looped by stream copy.
std::string MakeBigSource(const std::string& work, double gb) {
  const std::string base = work + "/base.mp4";
  const std::string big = work + "/big_" + std::to_string(static_cast<int>(gb * 1000)) + "MB.mp4";
  if (fs::exists(big)) return big;
  if (!fs::exists(base)) {
    Sh("ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=s=1280x720:r=25:d=30 -f lavfi -i "
       "sine=f=440:r=48000:d=30 -c:v libx264 -preset ultrafast -qp 8 -g 50 -c:a aac " +
       base);
  }
  const double base_bytes = static_cast<double>(fs::file_size(base));
  const int loops = std::max(0, static_cast<int>(gb * 1e9 / base_bytes + 0.5) - 1);
  Sh("ffmpeg -nostdin -v error -y -stream_loop " + std::to_string(loops) + " -i " + base +
     " -c copy " + big);
  return big;
}

}  // namespace

int main(int argc, char** argv) {
  double gb = 1.0;
  int reps = 3;
  std::string work = (fs::temp_directory_path() / "stereospot_media_bench").string();
  std::string clip = std::string(STEREOSPOT_SHARED_DIR) + "/media/video/mdn_flower.mp4";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--gb") gb = std::atof(argv[i + 1]);
    if (a == "--work") work = argv[i + 1];
    if (a == "--clip") clip = argv[i + 1];
    if (a == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
  }
  av_log_set_level(AV_LOG_ERROR);
  if (!Sh("command -v ffmpeg >/dev/null")) {
    std::fprintf(stderr, "the ffmpeg CLI is the baseline: run scripts/install-deps.sh\n");
    return 1;
  }
  fs::create_directories(work);
  const std::string big = MakeBigSource(work, gb);
  const double mb = static_cast<double>(fs::file_size(big)) / 1e6;
  Sh("cat " + big + " > /dev/null");  // both sides start from a warm page cache

  // Chunking.
  const std::string ours_dir = work + "/ours", cli_dir = work + "/cli";
  fs::remove_all(ours_dir);
  fs::remove_all(cli_dir);
  fs::create_directories(ours_dir);
  fs::create_directories(cli_dir);
  std::vector<WrittenSegment> written;
  int total = 0;
  double seg_seconds = 300;
  {
    // Plan once to size the CLI's segments alike.
    const MediaInfo info = Check(Probe(big), "probe");
    const SegmentPlan plan = Check(PlanSegments(info), "plan");
    total = plan.total();
    seg_seconds = plan.segments[0].end_seconds - plan.segments[0].start_seconds;
  }
  const Timing cut_t = BestOf(
      reps,
      [&] {
        const MediaInfo info = Check(Probe(big), "probe");
        const SegmentPlan plan = Check(PlanSegments(info), "plan");
        CutOptions cut;
        cut.path_for = [&](const SegmentSpec& s) {
          char name[64];
          std::snprintf(name, sizeof(name), "/%05d_%05d_sbs.mp4", s.index, plan.total());
          return ours_dir + name;
        };
        written = Check(CutSegments(big, info, plan, cut), "cut");
      },
      "ffmpeg -nostdin -v error -y -i " + big + " -map 0:v -c copy -f segment -segment_time " +
          std::to_string(seg_seconds) + " " + cli_dir + "/%05d.mp4");
  const long rss = MaxRssMb();
  std::printf("chunking:   %.0f MB, %d segments: %s (bar 1.2); peak RSS %ld MB\n", mb, total,
              cut_t.Ratios().c_str(), rss);

  // Reassembly of the cut segments with the source's audio.
  std::vector<std::string> segs;
  std::string list;
  for (const auto& w : written) {
    segs.push_back(w.path);
    list += "file '" + w.path + "'\n";
  }
  FILE* f = std::fopen((work + "/list.txt").c_str(), "w");
  std::fputs(list.c_str(), f);
  std::fclose(f);
  const Timing join_t = BestOf(
      reps, [&] { Check(Reassemble(big, segs, work + "/final_ours.mp4"), "reassemble"); },
      "ffmpeg -nostdin -v error -y -f concat -safe 0 -i " + work + "/list.txt -i " + big +
          " -map 0:v -map 1:a -c copy -movflags +faststart " + work + "/final_cli.mp4");
  std::printf("reassembly: %s (bar 1.2)\n", join_t.Ratios().c_str());

  // Identity transcode, same encoder settings on both sides.
  const MediaInfo cinfo = Check(Probe(clip), "probe clip");
  for (PixelLayout layout : {PixelLayout::kYuv420p, PixelLayout::kRgb24}) {
    ConvertOptions opt;
    opt.layout = layout;
    ConvertStats stats;
    const Timing tr_t = BestOf(
        reps,
        [&] {
          stats =
              Check(ConvertSegment(clip, work + "/t_ours.mp4", opt, IdentityCallback()), "convert");
        },
        "ffmpeg -nostdin -v error -y -i " + clip +
            " -map 0:v -c:v libx264 -preset medium "
            "-crf 20 -pix_fmt yuv420p " +
            work + "/t_cli.mp4");
    const double n = static_cast<double>(cinfo.video_packets);
    std::printf(
        "transcode (%s callback): %lld frames, ours %.1f fps, ffmpeg %.1f fps, %s (bar 1.1)\n",
        layout == PixelLayout::kRgb24 ? "RGB24" : "YUV420P",
        static_cast<long long>(stats.frames_out), n / tr_t.ours_wall, n / tr_t.cli_wall,
        tr_t.Ratios().c_str());
  }
  return 0;
}

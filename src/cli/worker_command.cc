// `stereospot worker --role media|video|all`, `janitor --once` and `stats`.
#include <csignal>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/workers.h"
#include "core/log.h"
#include "pipeline/janitor.h"
#include "pipeline/queue_metrics.h"

namespace stereospot::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int RunWorker(const GlobalOptions& globals, const std::string& role_name, bool janitor) {
  auto role = ParseWorkerRole(role_name);
  if (!role.ok()) {
    ReportError(role.status());
    return kExitUsage;
  }
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kCreate);
  if (!backend.ok()) return ReportError(backend.status());
  pipeline::MetricsRegistry metrics;
  auto pool = StartWorkers(loaded->config, *backend, *role, janitor, &metrics);
  if (!pool.ok()) return ReportError(pool.status());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Logger("stereospot.worker").Info("stopping: messages in hand are released for other workers");
  (*pool)->Stop();
  (*pool)->Join();
  return kExitOk;
}

int RunJanitorOnce(const GlobalOptions& globals, bool json) {
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (!backend.ok()) return ReportError(backend.status());
  auto reassembly = backend->Queue(kReassemblyQueue);
  if (!reassembly.ok()) return ReportError(reassembly.status());
  pipeline::JanitorOptions options;
  for (auto [name, stage] :
       {std::pair{kChunkingQueue, "chunking"}, std::pair{kSegmentsQueue, "conversion"},
        std::pair{kReassemblyQueue, "reassembly"}}) {
    auto queue = backend->Queue(name);
    if (!queue.ok()) return ReportError(queue.status());
    options.dead_letter_stages.emplace_back(*queue, stage);
  }
  pipeline::Janitor janitor(*backend->jobs, **reassembly, *backend->objects, options);
  auto findings = janitor.RunOnce();
  if (!findings.ok()) return ReportError(findings.status());
  nlohmann::json out = {{"triggers_rerun", findings->triggers_rerun},
                        {"reassembly_resent", findings->reassembly_resent},
                        {"intermediates_deleted", findings->intermediates_deleted},
                        {"failed_from_dead_letters", findings->failed_from_dead_letters},
                        {"objects_deleted", findings->objects_deleted},
                        {"errors", findings->errors},
                        {"stalled", nlohmann::json::array()}};
  for (const auto& s : findings->stalled) {
    out["stalled"].push_back({{"job_id", s.job_id},
                              {"status", JobStatusName(s.status)},
                              {"idle_seconds", s.idle_ms / 1000}});
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "triggers re-run:        " << findings->triggers_rerun.size() << "\n"
              << "reassembly re-sent:     " << findings->reassembly_resent.size() << "\n"
              << "stalled jobs:           " << findings->stalled.size() << "\n"
              << "failed (dead letters):  " << findings->failed_from_dead_letters.size() << "\n"
              << "intermediates deleted:  " << findings->intermediates_deleted.size() << " jobs, "
              << findings->objects_deleted << " objects\n";
    for (const auto& s : findings->stalled) {
      std::cout << "  stalled " << s.job_id << " (" << JobStatusName(s.status) << ", idle "
                << s.idle_ms / 1000 << " s)\n";
    }
    for (const auto& e : findings->errors) std::cout << "  error " << e << "\n";
  }
  return findings->errors.empty() ? kExitOk : kExitFailure;
}

// The metrics of DESIGN.md section 9 that the stores can answer from any process: jobs by status,
// queue depths, and progress of running jobs. (Per-process figures such as conversion seconds are
// published by each serving process on /metrics.)
int RunStats(const GlobalOptions& globals) {
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (!backend.ok()) return ReportError(backend.status());
  pipeline::MetricsRegistry metrics;
  std::vector<WorkQueue*> queues;
  for (const auto& [name, queue] : backend->queues) queues.push_back(queue.get());
  Status depths = pipeline::PublishQueueDepths(metrics, queues);
  if (!depths.ok()) return ReportError(depths);
  Status counted = pipeline::PublishJobCounts(metrics, *backend->jobs);
  if (!counted.ok()) return ReportError(counted);
  // Segment progress of the running jobs (only non-terminal statuses are paged through).
  for (JobStatus status : kAllJobStatuses) {
    if (IsTerminal(status) || status == JobStatus::kDeleted) continue;
    JobListQuery query;
    query.status = status;
    query.limit = 500;
    for (;;) {
      auto page = backend->jobs->List(query);
      if (!page.ok()) return ReportError(page.status());
      for (const Job& job : page->jobs) {
        if (job.total_segments == 0) continue;
        auto done = backend->jobs->CountCompletions(job.job_id);
        if (!done.ok()) continue;
        auto g = metrics.GetGauge("stereospot_job_segments", "Segments of a running job.",
                                  {{"job_id", job.job_id}, {"state", "completed"}});
        if (g.ok()) (*g)->Set(*done);
        g = metrics.GetGauge("stereospot_job_segments", "Segments of a running job.",
                             {{"job_id", job.job_id}, {"state", "total"}});
        if (g.ok()) (*g)->Set(job.total_segments);
      }
      if (page->next_cursor.empty()) break;
      query.cursor = page->next_cursor;
    }
  }
  std::cout << metrics.RenderPrometheus();
  return kExitOk;
}

}  // namespace

void RegisterWorkerCommands(CLI::App& app, CliContext& ctx) {
  auto role = std::make_shared<std::string>("all");
  CLI::App* worker =
      app.add_subcommand("worker", "Run workers only (several processes may share one backend)");
  auto with_janitor = std::make_shared<bool>(false);
  worker->add_option("--role", *role, "media, video or all")->capture_default_str();
  worker->add_flag("--janitor", *with_janitor,
                   "Also run the janitor every 60 s (one per deployment is enough; janitors "
                   "beside each other are safe)");
  worker->callback(
      [&ctx, role, with_janitor] { ctx.exit_code = RunWorker(ctx.globals, *role, *with_janitor); });

  auto once = std::make_shared<bool>(false);
  auto janitor_json = std::make_shared<bool>(false);
  CLI::App* janitor = app.add_subcommand(
      "janitor",
      "Repair and report: re-run missed triggers, recover expired leases, report "
      "stalled jobs, delete expired intermediates");
  janitor->add_flag("--once", *once, "Run one pass and exit (required)")->required();
  janitor->add_flag("--json", *janitor_json, "Print JSON");
  janitor->callback(
      [&ctx, janitor_json] { ctx.exit_code = RunJanitorOnce(ctx.globals, *janitor_json); });

  CLI::App* stats = app.add_subcommand(
      "stats", "Print jobs by status, queue depths and running jobs' progress (Prometheus text)");
  stats->callback([&ctx] { ctx.exit_code = RunStats(ctx.globals); });
}

}  // namespace stereospot::cli

// `stereospot jobs list|show`.
#include <iomanip>
#include <iostream>

#include "cli/cli_context.h"
#include "cli/wiring.h"
#include "core/ids.h"

namespace stereospot::cli {
namespace {

struct ListArgs {
  std::string status;
  int limit = 50;
  std::string cursor;
  bool json = false;
};

int RunList(const GlobalOptions& globals, const ListArgs& args) {
  JobListQuery query;
  if (!args.status.empty()) {
    auto status = ParseJobStatus(args.status);
    if (!status) {
      std::string names;
      for (JobStatus s : kAllJobStatuses)
        names += (names.empty() ? "" : ", ") + std::string(JobStatusName(s));
      return ReportError(
          Status::InvalidArgument("unknown status '" + args.status + "' (one of: " + names + ")"));
    }
    query.status = *status;
    if (*status == JobStatus::kCompleted) query.order = JobOrder::kCompletedDesc;
  }
  query.limit = args.limit;
  query.cursor = args.cursor;
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (!backend.ok()) return ReportError(backend.status());
  auto page = backend->jobs->List(query);
  if (!page.ok()) return ReportError(page.status());
  if (args.json) {
    nlohmann::json out = {{"jobs", nlohmann::json::array()}, {"next_cursor", page->next_cursor}};
    for (const Job& job : page->jobs) out["jobs"].push_back(JobToJson(job));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << std::left << std::setw(38) << "JOB" << std::setw(22) << "STATUS" << std::setw(10)
            << "SEGMENTS" << std::setw(26) << "CREATED"
            << "TITLE\n";
  for (const Job& job : page->jobs) {
    std::cout << std::setw(38) << job.job_id << std::setw(22) << JobStatusName(job.status)
              << std::setw(10) << job.total_segments << std::setw(26)
              << FormatTimestamp(job.created_at) << job.title << "\n";
  }
  if (!page->next_cursor.empty()) {
    std::cout << "# more: --cursor " << page->next_cursor << "\n";
  }
  return kExitOk;
}

int RunShow(const GlobalOptions& globals, const std::string& job_id, bool json) {
  if (!IsValidJobId(job_id)) {
    return ReportError(Status::InvalidArgument("'" + job_id.substr(0, 64) +
                                               "' is not a job id (a UUIDv4 such as "
                                               "3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c)"));
  }
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (!backend.ok()) return ReportError(backend.status());
  auto job = backend->jobs->Get(job_id);
  if (!job.ok()) return ReportError(job.status());
  auto completions = backend->jobs->ListCompletions(job_id);
  if (!completions.ok()) return ReportError(completions.status());
  nlohmann::json out = JobToJson(*job);
  out["segments_completed"] = completions->size();
  out["completions"] = nlohmann::json::array();
  for (const auto& c : *completions) out["completions"].push_back(CompletionToJson(c));
  auto trigger = backend->jobs->GetTrigger(job_id);
  if (trigger.ok()) {
    out["reassembly"] = {{"lease_owner", trigger->lease_owner},
                         {"lease_expires_at", FormatTimestamp(trigger->lease_expires_at)}};
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "job        " << job->job_id << "\n"
            << "title      " << job->title << "\n"
            << "status     " << JobStatusName(job->status) << "\n"
            << "segments   " << completions->size() << " / " << job->total_segments << "\n"
            << "created    " << FormatTimestamp(job->created_at) << "\n"
            << "completed  " << FormatTimestamp(job->completed_at) << "\n"
            << "params     " << job->params.dump() << "\n";
  if (job->error) {
    std::cout << "error      " << job->error->stage << ": " << job->error->message << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterJobsCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* jobs = app.add_subcommand("jobs", "Inspect jobs");
  jobs->require_subcommand(1);

  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = jobs->add_subcommand("list", "List jobs, newest first");
  list->add_option("--status", list_args->status, "Only jobs with this status");
  list->add_option("--limit", list_args->limit, "Jobs per page (1-500)")->check(CLI::Range(1, 500));
  list->add_option("--cursor", list_args->cursor, "Continue after a previous page");
  list->add_flag("--json", list_args->json, "Print JSON");
  list->callback([&ctx, list_args] { ctx.exit_code = RunList(ctx.globals, *list_args); });

  auto show_id = std::make_shared<std::string>();
  auto show_json = std::make_shared<bool>(false);
  CLI::App* show = jobs->add_subcommand("show", "Show one job with its segment completions");
  show->add_option("JOB", *show_id, "Job id")->required();
  show->add_flag("--json", *show_json, "Print JSON");
  show->callback(
      [&ctx, show_id, show_json] { ctx.exit_code = RunShow(ctx.globals, *show_id, *show_json); });
}

}  // namespace stereospot::cli

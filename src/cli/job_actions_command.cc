// `stereospot jobs retry|cancel|delete|recover-chunking|trigger-reassembly`: the operator's
// actions on one job (docs/operations.md, runbook).
#include <iostream>
#include <map>
#include <set>

#include "cli/workers.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "pipeline/job_service.h"
#include "pipeline/trigger.h"

namespace stereospot::cli {
namespace {

Status CheckJobId(const std::string& job_id) {
  if (IsValidJobId(job_id)) return Status::OK();
  return Status::InvalidArgument("'" + job_id.substr(0, 64) +
                                 "' is not a job id (a UUIDv4 such as "
                                 "3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c)");
}

enum class Action { kRetry, kCancel, kDelete };

int RunAction(const GlobalOptions& globals, Action action, const std::string& job_id) {
  if (Status s = CheckJobId(job_id); !s.ok()) return ReportError(s);
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (!backend.ok()) return ReportError(backend.status());
  auto chunking = backend->Queue(kChunkingQueue);
  auto deletion = backend->Queue(kDeletionQueue);
  if (!chunking.ok()) return ReportError(chunking.status());
  if (!deletion.ok()) return ReportError(deletion.status());
  pipeline::JobService service(*backend->jobs, *backend->objects, **chunking, **deletion);
  Result<Job> job = action == Action::kRetry    ? service.Retry(job_id)
                    : action == Action::kCancel ? service.Cancel(job_id)
                                                : service.Delete(job_id);
  if (!job.ok()) return ReportError(job.status());
  std::cout << job->job_id << " is now " << JobStatusName(job->status) << "\n";
  return kExitOk;
}

// Segments found under segments/{job}/, keyed by index; all must agree on total and mode.
struct FoundSegments {
  int total = 0;
  Layout mode = Layout::kSbs;
  std::map<int, std::string> keys;
};

Result<FoundSegments> FindSegments(ObjectStore& objects, const std::string& job_id) {
  STEREOSPOT_ASSIGN_OR_RETURN(std::string prefix, SegmentsPrefix(job_id));
  FoundSegments found;
  std::string token;
  bool first = true;
  do {
    STEREOSPOT_ASSIGN_OR_RETURN(ObjectPage page, objects.List(prefix, token, 1000));
    for (const ObjectInfo& object : page.objects) {
      auto key = ParseSegmentKey(object.key);  // the shared parser: nothing else is trusted
      if (!key || key->job_id != job_id) {
        return Status::Conflict("unexpected object " + object.key +
                                " under the job's segments; not touching the job");
      }
      if (first) {
        found.total = key->total_segments;
        found.mode = key->mode;
        first = false;
      } else if (key->total_segments != found.total || key->mode != found.mode) {
        return Status::Conflict("segment keys disagree on the segment count or layout (" +
                                object.key +
                                "): they come from more than one cut; retry the job instead");
      }
      found.keys[key->segment_index] = object.key;
    }
    token = page.next_page_token;
  } while (!token.empty());
  if (found.keys.empty()) {
    return Status::NotFound("no segments under " + prefix +
                            ": the chunker wrote nothing; retry "
                            "the job (jobs retry) or replay its chunking message");
  }
  std::string missing;
  for (int i = 0; i < found.total; ++i) {
    if (!found.keys.count(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
  }
  if (!missing.empty()) {
    return Status::Conflict(
        "segments " + missing + " of " + std::to_string(found.total) +
        " are missing: the chunker died before writing them; replay its chunking message "
        "(dlq replay chunking) or retry the job instead");
  }
  return found;
}

int RunRecoverChunking(const GlobalOptions& globals, const std::string& job_id, bool yes) {
  if (Status s = CheckJobId(job_id); !s.ok()) return ReportError(s);
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (!backend.ok()) return ReportError(backend.status());
  auto job = backend->jobs->Get(job_id);
  if (!job.ok()) return ReportError(job.status());
  if (job->status != JobStatus::kChunkingInProgress) {
    return ReportError(
        Status::Conflict("job " + job_id + " is " + std::string(JobStatusName(job->status)) +
                         "; recover-chunking only finishes a job stuck in chunking_in_progress"));
  }
  auto found = FindSegments(*backend->objects, job_id);
  if (!found.ok()) return ReportError(found.status());
  auto completions = backend->jobs->ListCompletions(job_id);
  if (!completions.ok()) return ReportError(completions.status());
  std::set<int> converted;
  for (const auto& c : *completions) converted.insert(c.segment_index);
  std::cout << "job " << job_id << ": all " << found->total << " segments are stored ("
            << converted.size()
            << " already converted). This sets total_segments = " << found->total
            << ", moves the job to chunking_complete and enqueues "
            << found->total - static_cast<int>(converted.size()) << " segment messages.\n";
  if (!yes && !Confirm("Proceed?")) {
    std::cerr << "nothing changed (pass --yes to run without a prompt)\n";
    return kExitFailure;
  }
  JobUpdate update;
  update.total_segments = found->total;
  Status s = backend->jobs->TransitionStatus(job_id, JobStatus::kChunkingInProgress,
                                             JobStatus::kChunkingComplete, update);
  if (!s.ok()) return ReportError(s);
  auto segments = backend->Queue(kSegmentsQueue);
  auto reassembly = backend->Queue(kReassemblyQueue);
  if (!segments.ok()) return ReportError(segments.status());
  if (!reassembly.ok()) return ReportError(reassembly.status());
  for (const auto& [index, key] : found->keys) {
    if (converted.count(index)) continue;
    SegmentMessage message{job_id, index, found->total, key, found->mode};
    auto sent = (*segments)->Send(EncodeSegmentMessage(message));
    if (!sent.ok()) return ReportError(sent.status());
  }
  auto trigger = pipeline::MaybeTriggerReassembly(*backend->jobs, **reassembly, job_id);
  if (!trigger.ok()) return ReportError(trigger.status());
  std::cout << "job " << job_id
            << " is chunking_complete; trigger: " << pipeline::TriggerOutcomeName(*trigger) << "\n";
  return kExitOk;
}

int RunTriggerReassembly(const GlobalOptions& globals, const std::string& job_id) {
  if (Status s = CheckJobId(job_id); !s.ok()) return ReportError(s);
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (!backend.ok()) return ReportError(backend.status());
  auto reassembly = backend->Queue(kReassemblyQueue);
  if (!reassembly.ok()) return ReportError(reassembly.status());
  auto job = backend->jobs->Get(job_id);
  if (!job.ok()) return ReportError(job.status());
  if (job->status == JobStatus::kReassembling) {
    // The trigger ran; its message may be lost or its reassembler dead: send it again (a
    // live reassembler keeps its lease, so a duplicate is harmless).
    Status s = pipeline::SendReassemblyMessage(**reassembly, job_id);
    if (!s.ok()) return ReportError(s);
    std::cout << "job " << job_id << " is reassembling; reassembly message re-sent\n";
    return kExitOk;
  }
  auto outcome = pipeline::MaybeTriggerReassembly(*backend->jobs, **reassembly, job_id);
  if (!outcome.ok()) return ReportError(outcome.status());
  if (*outcome == pipeline::TriggerOutcome::kAlreadyTriggered &&
      job->status == JobStatus::kChunkingComplete) {
    auto resumed = pipeline::ResumeTrigger(*backend->jobs, **reassembly, job_id);
    if (!resumed.ok()) return ReportError(resumed.status());
    outcome = resumed;
  }
  if (*outcome == pipeline::TriggerOutcome::kNotReady) {
    auto done = backend->jobs->CountCompletions(job_id);
    return ReportError(Status::Conflict(
        "job " + job_id + " is not ready for reassembly: status " +
        std::string(JobStatusName(job->status)) + ", " + (done.ok() ? std::to_string(*done) : "?") +
        " of " + std::to_string(job->total_segments) + " segments converted"));
  }
  std::cout << "job " << job_id << ": " << pipeline::TriggerOutcomeName(*outcome) << "\n";
  return kExitOk;
}

}  // namespace

void RegisterJobActionCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* jobs = app.get_subcommand("jobs");
  struct Spec {
    const char* name;
    const char* help;
    Action action;
  };
  for (const Spec& spec :
       {Spec{"retry", "Run a failed or cancelled job again from its uploaded source",
             Action::kRetry},
        Spec{"cancel", "Cancel a job; workers drop its work and its intermediates are deleted",
             Action::kCancel},
        Spec{"delete", "Delete an ended job and all its objects", Action::kDelete}}) {
    auto id = std::make_shared<std::string>();
    CLI::App* cmd = jobs->add_subcommand(spec.name, spec.help);
    cmd->add_option("JOB", *id, "Job id")->required();
    cmd->callback(
        [&ctx, id, action = spec.action] { ctx.exit_code = RunAction(ctx.globals, action, *id); });
  }

  auto recover_id = std::make_shared<std::string>();
  auto recover_yes = std::make_shared<bool>(false);
  CLI::App* recover = jobs->add_subcommand(
      "recover-chunking",
      "Finish a job whose chunker died after writing every segment (derives total_segments "
      "from the segment keys)");
  recover->add_option("JOB", *recover_id, "Job id")->required();
  recover->add_flag("--yes", *recover_yes, "Do not ask for confirmation");
  recover->callback([&ctx, recover_id, recover_yes] {
    ctx.exit_code = RunRecoverChunking(ctx.globals, *recover_id, *recover_yes);
  });

  auto trigger_id = std::make_shared<std::string>();
  CLI::App* trigger = jobs->add_subcommand(
      "trigger-reassembly",
      "Run the reassembly trigger for a job whose segments are all converted (re-sends the "
      "message of a reassembling job)");
  trigger->add_option("JOB", *trigger_id, "Job id")->required();
  trigger->callback(
      [&ctx, trigger_id] { ctx.exit_code = RunTriggerReassembly(ctx.globals, *trigger_id); });
}

}  // namespace stereospot::cli

// Child process of crash_test: works through messages of the "chunking" queue, driving one job
// per message through the whole status path with completions, and deleting the message at the
// end. Every step is idempotent, so a redelivered message resumes where a killed child stopped.
//
// Usage: crash_child DB_PATH LOG_PATH [--drain]
//   without --drain: runs until killed, pausing 2 ms between writes so kills land mid-message.
//   with --drain: exits 0 once the queue holds no visible or in-flight message.
// Each delivery is appended to LOG_PATH as "<message> <receive count>".
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"

using namespace stereospot;
using namespace std::chrono_literals;

namespace {

// A deterministic UUIDv4-shaped id per message number, so a redelivery finds its job.
std::string JobIdFor(int n) {
  char id[40];
  std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
  return id;
}

std::chrono::milliseconds g_step_pause{0};

Status Process(JobStore& store, int n) {
  const std::string id = JobIdFor(n);
  Job job;
  job.job_id = id;
  job.title = "msg-" + std::to_string(n);
  job.params = {{"layout", "sbs"}, {"n", n}};
  job.source_key = "input/" + id + "/source.mp4";
  job.source_bytes = 1000 + n;
  Status created = store.Create(job);
  if (!created.ok() && created.code() != StatusCode::kAlreadyExists) return created;
  const std::pair<JobStatus, JobStatus> steps[] = {
      {JobStatus::kCreated, JobStatus::kChunkingInProgress},
      {JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete},
      {JobStatus::kChunkingComplete, JobStatus::kReassembling},
      {JobStatus::kReassembling, JobStatus::kCompleted}};
  for (const auto& [from, to] : steps) {
    std::this_thread::sleep_for(g_step_pause);
    STEREOSPOT_ASSIGN_OR_RETURN(Job current, store.Get(id));
    if (current.status != from) continue;
    JobUpdate update;
    if (to == JobStatus::kChunkingComplete) update.total_segments = 3;
    if (to == JobStatus::kReassembling) {
      for (int s = 0; s < 3; ++s) {
        STEREOSPOT_RETURN_IF_ERROR(store.PutCompletion(
            {id, s, "jobs/" + id + "/segments/0000" + std::to_string(s) + ".mp4", 25, 1.0, 0,
             "child", 0.1}));
      }
      auto first = store.CreateTriggerOnce(id);
      if (!first.ok()) return first.status();
    }
    if (to == JobStatus::kCompleted) update.completed_at = NowMillis();
    Status moved = store.TransitionStatus(id, from, to, update);
    if (!moved.ok() && !moved.IsConflict()) return moved;
  }
  return Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: crash_child DB_PATH LOG_PATH [--drain]\n");
    return 2;
  }
  const bool drain = argc > 3 && std::strcmp(argv[3], "--drain") == 0;
  if (!drain) g_step_pause = 2ms;
  std::FILE* log = std::fopen(argv[2], "a");
  if (log == nullptr) return 1;
  auto db = local::SqliteDatabase::Open(argv[1]);
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", db.status().ToString().c_str());
    return 1;
  }
  local::SqliteJobStore store(*db);
  local::SqliteQueueOptions options;
  options.max_receives = 1000;
  options.poll_interval = 20ms;
  local::SqliteWorkQueue queue(*db, "chunking", options);
  ReceiveOptions receive;
  receive.wait = 200ms;
  receive.visibility = 300ms;
  while (true) {
    auto messages = queue.Receive(receive);
    if (!messages.ok()) {
      std::fprintf(stderr, "receive: %s\n", messages.status().ToString().c_str());
      continue;
    }
    if (messages->empty() && drain) {
      auto depth = queue.Depth();
      if (depth.ok() && depth->visible == 0 && depth->in_flight == 0) return 0;
    }
    for (const auto& m : *messages) {
      std::fprintf(log, "%s %d\n", m.body.c_str(), m.receive_count);
      std::fflush(log);
      Status s = Process(store, std::stoi(m.body));
      if (!s.ok()) {
        std::fprintf(stderr, "process %s: %s\n", m.body.c_str(), s.ToString().c_str());
        continue;  // the message comes back after its visibility
      }
      Status deleted = queue.Delete(m.receipt);
      if (!deleted.ok()) std::fprintf(stderr, "delete: %s\n", deleted.ToString().c_str());
    }
  }
}

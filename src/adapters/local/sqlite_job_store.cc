#include "adapters/local/sqlite_job_store.h"

#include <charconv>

#include "core/ids.h"

namespace stereospot::local {
namespace {

constexpr const char* kJobColumns =
    "job_id, kind, status, params, title, source_key, source_bytes, total_segments, created_at, "
    "uploaded_at, started_at, completed_at, updated_at, error_stage, error_message, attempts";

Status CheckId(std::string_view job_id) {
  if (!IsValidJobId(job_id)) {
    return Status::InvalidArgument("not a job id: '" + std::string(job_id.substr(0, 64)) + "'");
  }
  return Status::OK();
}

Result<Job> RowToJob(const SqlRow& r) {
  Job job;
  job.job_id = AsText(r[0]);
  job.kind = AsText(r[1]);
  auto status = ParseJobStatus(AsText(r[2]));
  if (!status) return Status::DataLoss("job " + job.job_id + " has unknown status " + AsText(r[2]));
  job.status = *status;
  job.params = nlohmann::json::parse(AsText(r[3]), nullptr, false);
  if (job.params.is_discarded()) return Status::DataLoss("job " + job.job_id + " has bad params");
  job.title = AsText(r[4]);
  job.source_key = AsText(r[5]);
  job.source_bytes = AsInt(r[6]);
  job.total_segments = static_cast<int>(AsInt(r[7]));
  job.created_at = AsInt(r[8]);
  job.uploaded_at = AsInt(r[9]);
  job.started_at = AsInt(r[10]);
  job.completed_at = AsInt(r[11]);
  job.updated_at = AsInt(r[12]);
  if (!std::holds_alternative<std::nullptr_t>(r[13])) {
    job.error = JobError{AsText(r[13]), AsText(r[14])};
  }
  job.attempts = static_cast<int>(AsInt(r[15]));
  return job;
}

SegmentCompletion RowToCompletion(const SqlRow& r) {
  return SegmentCompletion{AsText(r[0]),   static_cast<int>(AsInt(r[1])),
                           AsText(r[2]),   AsInt(r[3]),
                           AsDouble(r[4]), AsInt(r[5]),
                           AsText(r[6]),   AsDouble(r[7])};
}

// Cursor: "<order>:<sort value>:<job id>", the position after the last job of a page.
std::string MakeCursor(JobOrder order, std::int64_t sort_value, const std::string& job_id) {
  return std::string(order == JobOrder::kCreatedDesc ? "c" : "d") + ":" +
         std::to_string(sort_value) + ":" + job_id;
}

Result<std::pair<std::int64_t, std::string>> ParseCursor(JobOrder order, std::string_view cursor) {
  auto bad = Status::InvalidArgument("malformed or foreign page cursor");
  std::string_view tag = order == JobOrder::kCreatedDesc ? "c:" : "d:";
  if (cursor.substr(0, 2) != tag) return bad;
  cursor.remove_prefix(2);
  auto colon = cursor.find(':');
  if (colon == std::string_view::npos) return bad;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + colon, value);
  if (ec != std::errc() || end != cursor.data() + colon) return bad;
  std::string_view id = cursor.substr(colon + 1);
  if (!IsValidJobId(id)) return bad;
  return std::make_pair(value, std::string(id));
}

// Appends "col = ?" assignments for the set fields of `update`.
void AddAssignments(const JobUpdate& u, std::string* sql, std::vector<SqlValue>* params) {
  auto add = [&](const char* column, SqlValue value) {
    *sql += ", ";
    *sql += column;
    *sql += " = ?";
    params->push_back(std::move(value));
  };
  if (u.title) add("title", *u.title);
  if (u.source_key) add("source_key", *u.source_key);
  if (u.source_bytes) add("source_bytes", *u.source_bytes);
  if (u.total_segments) add("total_segments", static_cast<std::int64_t>(*u.total_segments));
  if (u.uploaded_at) add("uploaded_at", *u.uploaded_at);
  if (u.started_at) add("started_at", *u.started_at);
  if (u.completed_at) add("completed_at", *u.completed_at);
  if (u.error) {
    if (*u.error) {
      add("error_stage", (*u.error)->stage);
      add("error_message", (*u.error)->message);
    } else {
      add("error_stage", nullptr);
      add("error_message", nullptr);
    }
  }
  if (u.attempts) add("attempts", static_cast<std::int64_t>(*u.attempts));
}

Status JobExists(SqlTransaction& tx, std::string_view job_id) {
  STEREOSPOT_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT 1 FROM jobs WHERE job_id = ?", {std::string(job_id)}));
  if (rows.empty()) return Status::NotFound("job " + std::string(job_id) + " does not exist");
  return Status::OK();
}

}  // namespace

Status SqliteJobStore::Create(const Job& job) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job.job_id));
  if (job.status != JobStatus::kCreated) {
    return Status::InvalidArgument("a new job must have status created");
  }
  std::int64_t now = NowMillis();
  std::int64_t created = job.created_at != 0 ? job.created_at : now;
  return db_->Write([&](SqlTransaction& tx) -> Status {
    auto changed = tx.Exec(
        std::string("INSERT INTO jobs (") + kJobColumns +
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        {job.job_id, job.kind, std::string(JobStatusName(job.status)), job.params.dump(), job.title,
         job.source_key, job.source_bytes, static_cast<std::int64_t>(job.total_segments), created,
         job.uploaded_at, job.started_at, job.completed_at, now,
         job.error ? SqlValue(job.error->stage) : SqlValue(nullptr),
         job.error ? SqlValue(job.error->message) : SqlValue(nullptr),
         static_cast<std::int64_t>(job.attempts)});
    if (!changed.ok()) return changed.status();
    if (*changed == 0) return Status::AlreadyExists("job " + job.job_id + " already exists");
    return Status::OK();
  });
}

Result<Job> SqliteJobStore::Get(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  std::optional<Result<Job>> out;
  Status s = db_->Read([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(
        auto rows, tx.Query(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE job_id = ?",
                            {std::string(job_id)}));
    if (rows.empty()) return Status::NotFound("job " + std::string(job_id) + " does not exist");
    out = RowToJob(rows[0]);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return std::move(*out);
}

Status SqliteJobStore::ApplyUpdate(std::string_view job_id, std::optional<JobStatus> expected,
                                   std::optional<JobStatus> next, const JobUpdate& update) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  std::string sql = "UPDATE jobs SET updated_at = ?";
  std::vector<SqlValue> params = {NowMillis()};
  if (next) {
    sql += ", status = ?";
    params.emplace_back(std::string(JobStatusName(*next)));
  }
  AddAssignments(update, &sql, &params);
  sql += " WHERE job_id = ?";
  params.emplace_back(std::string(job_id));
  if (expected) {
    sql += " AND status = ?";
    params.emplace_back(std::string(JobStatusName(*expected)));
  }
  return db_->Write([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(std::int64_t changed, tx.Exec(sql, params));
    if (changed == 1) return Status::OK();
    STEREOSPOT_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT status FROM jobs WHERE job_id = ?", {std::string(job_id)}));
    if (rows.empty()) return Status::NotFound("job " + std::string(job_id) + " does not exist");
    return Status::Conflict("job " + std::string(job_id) + " is " + AsText(rows[0][0]) + ", not " +
                            std::string(JobStatusName(*expected)));
  });
}

Status SqliteJobStore::TransitionStatus(std::string_view job_id, JobStatus expected, JobStatus next,
                                        const JobUpdate& update) {
  if (!IsAllowedTransition(expected, next)) {
    return Status::InvalidArgument("transition " + std::string(JobStatusName(expected)) + " -> " +
                                   std::string(JobStatusName(next)) + " is not allowed");
  }
  return ApplyUpdate(job_id, expected, next, update);
}

Status SqliteJobStore::UpdateFields(std::string_view job_id, const JobUpdate& update,
                                    std::optional<JobStatus> expected) {
  return ApplyUpdate(job_id, expected, std::nullopt, update);
}

Result<JobPage> SqliteJobStore::List(const JobListQuery& query) {
  if (query.limit < 1 || query.limit > 500) {
    return Status::InvalidArgument("limit must be in [1, 500]");
  }
  const bool by_created = query.order == JobOrder::kCreatedDesc;
  const char* sort_column = by_created ? "created_at" : "completed_at";
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE 1 = 1";
  std::vector<SqlValue> params;
  if (query.status) {
    sql += " AND status = ?";
    params.emplace_back(std::string(JobStatusName(*query.status)));
  } else {
    sql += " AND status != 'deleted'";
  }
  if (!by_created) sql += " AND completed_at > 0";
  if (!query.cursor.empty()) {
    STEREOSPOT_ASSIGN_OR_RETURN(auto position, ParseCursor(query.order, query.cursor));
    sql += std::string(" AND (") + sort_column + ", job_id) < (?, ?)";
    params.emplace_back(position.first);
    params.emplace_back(position.second);
  }
  sql += std::string(" ORDER BY ") + sort_column + " DESC, job_id DESC LIMIT ?";
  params.emplace_back(static_cast<std::int64_t>(query.limit + 1));

  JobPage page;
  STEREOSPOT_RETURN_IF_ERROR(db_->Read([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
    for (std::size_t i = 0; i < rows.size() && i < static_cast<std::size_t>(query.limit); ++i) {
      STEREOSPOT_ASSIGN_OR_RETURN(Job job, RowToJob(rows[i]));
      page.jobs.push_back(std::move(job));
    }
    if (rows.size() > static_cast<std::size_t>(query.limit)) {
      const Job& last = page.jobs.back();
      page.next_cursor =
          MakeCursor(query.order, by_created ? last.created_at : last.completed_at, last.job_id);
    }
    return Status::OK();
  }));
  return page;
}

Status SqliteJobStore::PutCompletion(const SegmentCompletion& c) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(c.job_id));
  if (c.segment_index < 0) return Status::InvalidArgument("segment_index must be >= 0");
  return db_->Write([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_RETURN_IF_ERROR(JobExists(tx, c.job_id));
    return tx
        .Exec(
            "INSERT INTO segment_completions (job_id, segment_index, output_key, frames, "
            "duration_seconds, completed_at, worker_id, conversion_seconds) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            {c.job_id, static_cast<std::int64_t>(c.segment_index), c.output_key, c.frames,
             c.duration_seconds, c.completed_at != 0 ? c.completed_at : NowMillis(), c.worker_id,
             c.conversion_seconds})
        .status();
  });
}

Result<int> SqliteJobStore::CountCompletions(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  int count = 0;
  STEREOSPOT_RETURN_IF_ERROR(db_->Read([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_RETURN_IF_ERROR(JobExists(tx, job_id));
    STEREOSPOT_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT COUNT(*) FROM segment_completions WHERE job_id = ?",
                            {std::string(job_id)}));
    count = static_cast<int>(AsInt(rows[0][0]));
    return Status::OK();
  }));
  return count;
}

Result<std::map<JobStatus, std::int64_t>> SqliteJobStore::CountByStatus() {
  std::map<JobStatus, std::int64_t> counts;
  STEREOSPOT_RETURN_IF_ERROR(db_->Read([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(auto rows,
                                tx.Query("SELECT status, COUNT(*) FROM jobs GROUP BY status", {}));
    for (const auto& row : rows) {
      auto status = ParseJobStatus(AsText(row[0]));
      if (!status) return Status::DataLoss("unknown job status '" + AsText(row[0]) + "'");
      counts[*status] = AsInt(row[1]);
    }
    return Status::OK();
  }));
  return counts;
}

Result<std::vector<SegmentCompletion>> SqliteJobStore::ListCompletions(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  std::vector<SegmentCompletion> out;
  STEREOSPOT_RETURN_IF_ERROR(db_->Read([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_RETURN_IF_ERROR(JobExists(tx, job_id));
    STEREOSPOT_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT job_id, segment_index, output_key, frames, duration_seconds, "
                            "completed_at, worker_id, conversion_seconds FROM segment_completions "
                            "WHERE job_id = ? ORDER BY segment_index",
                            {std::string(job_id)}));
    for (const auto& r : rows) out.push_back(RowToCompletion(r));
    return Status::OK();
  }));
  return out;
}

Result<bool> SqliteJobStore::CreateTriggerOnce(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  bool created = false;
  STEREOSPOT_RETURN_IF_ERROR(db_->Write([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_RETURN_IF_ERROR(JobExists(tx, job_id));
    STEREOSPOT_ASSIGN_OR_RETURN(
        std::int64_t changed,
        tx.Exec("INSERT INTO reassembly_triggers (job_id, created_at) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                {std::string(job_id), NowMillis()}));
    created = changed == 1;
    return Status::OK();
  }));
  return created;
}

Result<ReassemblyTrigger> SqliteJobStore::GetTrigger(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  ReassemblyTrigger trigger;
  STEREOSPOT_RETURN_IF_ERROR(db_->Read([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT job_id, created_at, lease_owner, lease_expires_at FROM "
                            "reassembly_triggers WHERE job_id = ?",
                            {std::string(job_id)}));
    if (rows.empty()) {
      return Status::NotFound("job " + std::string(job_id) + " has no reassembly trigger");
    }
    trigger = {AsText(rows[0][0]), AsInt(rows[0][1]), AsText(rows[0][2]), AsInt(rows[0][3])};
    return Status::OK();
  }));
  return trigger;
}

Result<bool> SqliteJobStore::AcquireLease(std::string_view job_id, std::string_view owner,
                                          std::chrono::milliseconds ttl) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  if (owner.empty() || ttl.count() <= 0) {
    return Status::InvalidArgument("a lease needs an owner and a positive ttl");
  }
  bool acquired = false;
  STEREOSPOT_RETURN_IF_ERROR(db_->Write([&](SqlTransaction& tx) -> Status {
    std::int64_t now = NowMillis();
    STEREOSPOT_ASSIGN_OR_RETURN(
        std::int64_t changed,
        tx.Exec(
            "UPDATE reassembly_triggers SET lease_owner = ?, lease_expires_at = ? "
            "WHERE job_id = ? AND (lease_owner = '' OR lease_owner = ? OR "
            "lease_expires_at <= ?)",
            {std::string(owner), now + ttl.count(), std::string(job_id), std::string(owner), now}));
    if (changed == 1) {
      acquired = true;
      return Status::OK();
    }
    STEREOSPOT_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT 1 FROM reassembly_triggers WHERE "
                                                    "job_id = ?",
                                                    {std::string(job_id)}));
    if (rows.empty()) {
      return Status::NotFound("job " + std::string(job_id) + " has no reassembly trigger");
    }
    return Status::OK();
  }));
  return acquired;
}

Status SqliteJobStore::RenewLease(std::string_view job_id, std::string_view owner,
                                  std::chrono::milliseconds ttl) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  return db_->Write([&](SqlTransaction& tx) -> Status {
    std::int64_t now = NowMillis();
    // Renewing a lease that expired but was not taken over is allowed: nobody else can have
    // started the work, so the owner may go on.
    STEREOSPOT_ASSIGN_OR_RETURN(
        std::int64_t changed,
        tx.Exec("UPDATE reassembly_triggers SET lease_expires_at = ? "
                "WHERE job_id = ? AND lease_owner = ?",
                {now + ttl.count(), std::string(job_id), std::string(owner)}));
    if (changed == 1) return Status::OK();
    return Status::Conflict("lease of job " + std::string(job_id) + " is not held by " +
                            std::string(owner));
  });
}

Status SqliteJobStore::ReleaseLease(std::string_view job_id, std::string_view owner) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  return db_->Write([&](SqlTransaction& tx) -> Status {
    return tx
        .Exec(
            "UPDATE reassembly_triggers SET lease_owner = '', lease_expires_at = 0 "
            "WHERE job_id = ? AND lease_owner = ?",
            {std::string(job_id), std::string(owner)})
        .status();
  });
}

Status SqliteJobStore::ResetProgress(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  return db_->Write([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM segment_completions WHERE job_id = ?", {std::string(job_id)})
            .status());
    return tx.Exec("DELETE FROM reassembly_triggers WHERE job_id = ?", {std::string(job_id)})
        .status();
  });
}

}  // namespace stereospot::local

#include "adapters/postgres/pg_job_store.h"

#include <charconv>

#include "core/ids.h"

namespace stereospot::postgres {
namespace {

constexpr const char* kJobColumns =
    "job_id, kind, status, params::text, title, source_key, source_bytes, total_segments, "
    "created_at, uploaded_at, started_at, completed_at, updated_at, error_stage, error_message, "
    "attempts";

Status CheckId(std::string_view job_id) {
  if (!IsValidJobId(job_id)) {
    return Status::InvalidArgument("not a job id: '" + std::string(job_id.substr(0, 64)) + "'");
  }
  return Status::OK();
}

Status NoJob(std::string_view job_id) {
  return Status::NotFound("job " + std::string(job_id) + " does not exist");
}

Result<Job> RowToJob(const PgRows& rows, int r) {
  Job job;
  job.job_id = rows.Text(r, 0);
  job.kind = rows.Text(r, 1);
  auto status = ParseJobStatus(rows.Text(r, 2));
  if (!status) {
    return Status::DataLoss("job " + job.job_id + " has unknown status " +
                            std::string(rows.Text(r, 2)));
  }
  job.status = *status;
  job.params = nlohmann::json::parse(rows.Text(r, 3), nullptr, false);
  if (job.params.is_discarded()) return Status::DataLoss("job " + job.job_id + " has bad params");
  job.title = rows.Text(r, 4);
  job.source_key = rows.Text(r, 5);
  job.source_bytes = rows.Int(r, 6);
  job.total_segments = static_cast<int>(rows.Int(r, 7));
  job.created_at = rows.Int(r, 8);
  job.uploaded_at = rows.Int(r, 9);
  job.started_at = rows.Int(r, 10);
  job.completed_at = rows.Int(r, 11);
  job.updated_at = rows.Int(r, 12);
  if (!rows.IsNull(r, 13)) {
    job.error = JobError{std::string(rows.Text(r, 13)), std::string(rows.Text(r, 14))};
  }
  job.attempts = static_cast<int>(rows.Int(r, 15));
  return job;
}

// Cursor: "<order>:<sort value>:<job id>", the position after the last job of a page (the same
// form as the embedded store's).
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

// Builds "$n" placeholders while collecting their values.
class Params {
 public:
  std::string Add(PgParam value) {
    values_.push_back(std::move(value));
    return "$" + std::to_string(values_.size());
  }
  const std::vector<PgParam>& values() const { return values_; }

 private:
  std::vector<PgParam> values_;
};

// Appends ", col = $n" assignments for the set fields of `update`.
void AddAssignments(const JobUpdate& u, std::string* sql, Params* params) {
  auto add = [&](const char* column, PgParam value, const char* type) {
    *sql += std::string(", ") + column + " = " + params->Add(std::move(value)) + "::" + type;
  };
  if (u.title) add("title", *u.title, "text");
  if (u.source_key) add("source_key", *u.source_key, "text");
  if (u.source_bytes) add("source_bytes", *u.source_bytes, "bigint");
  if (u.total_segments) add("total_segments", std::int64_t{*u.total_segments}, "integer");
  if (u.uploaded_at) add("uploaded_at", *u.uploaded_at, "bigint");
  if (u.started_at) add("started_at", *u.started_at, "bigint");
  if (u.completed_at) add("completed_at", *u.completed_at, "bigint");
  if (u.error) {
    add("error_stage", *u.error ? PgParam((*u.error)->stage) : PgParam(nullptr), "text");
    add("error_message", *u.error ? PgParam((*u.error)->message) : PgParam(nullptr), "text");
  }
  if (u.attempts) add("attempts", std::int64_t{*u.attempts}, "integer");
}

std::string DumpParams(const nlohmann::json& params) {
  // replace: invalid UTF-8 inside a string must not throw through the port.
  return params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Status PgJobStore::Create(const Job& job) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job.job_id));
  if (job.status != JobStatus::kCreated) {
    return Status::InvalidArgument("a new job must have status created");
  }
  const std::int64_t now = NowMillis();
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute(
          "INSERT INTO jobs (job_id, kind, status, params, title, source_key, source_bytes, "
          "total_segments, created_at, uploaded_at, started_at, completed_at, "
          "updated_at, error_stage, error_message, attempts) VALUES ($1::text, "
          "$2::text, $3::text, $4::jsonb, $5::text, $6::text, $7::bigint, "
          "$8::integer, $9::bigint, $10::bigint, $11::bigint, $12::bigint, "
          "$13::bigint, $14::text, $15::text, $16::integer) "
          "ON CONFLICT DO NOTHING RETURNING 1",
          {job.job_id, job.kind, std::string(JobStatusName(job.status)), DumpParams(job.params),
           job.title, job.source_key, job.source_bytes, std::int64_t{job.total_segments},
           job.created_at != 0 ? job.created_at : now, job.uploaded_at, job.started_at,
           job.completed_at, now, job.error ? PgParam(job.error->stage) : PgParam(nullptr),
           job.error ? PgParam(job.error->message) : PgParam(nullptr),
           std::int64_t{job.attempts}}));
  if (rows.empty()) return Status::AlreadyExists("job " + job.job_id + " already exists");
  return Status::OK();
}

Result<Job> PgJobStore::Get(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  STEREOSPOT_ASSIGN_OR_RETURN(PgRows rows, db_->Execute(std::string("SELECT ") + kJobColumns +
                                                            " FROM jobs WHERE job_id = $1",
                                                        {std::string(job_id)}));
  if (rows.empty()) return NoJob(job_id);
  return RowToJob(rows, 0);
}

Status PgJobStore::ApplyUpdate(std::string_view job_id, std::optional<JobStatus> expected,
                               std::optional<JobStatus> next, const JobUpdate& update) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  Params params;
  const std::string id = params.Add(std::string(job_id));
  std::string sql =
      "WITH u AS (UPDATE jobs SET updated_at = " + params.Add(NowMillis()) + "::bigint";
  if (next) sql += ", status = " + params.Add(std::string(JobStatusName(*next))) + "::text";
  AddAssignments(update, &sql, &params);
  sql += " WHERE job_id = " + id + "::text";
  if (expected) {
    sql += " AND status = " + params.Add(std::string(JobStatusName(*expected))) + "::text";
  }
  // The outer SELECT reads the snapshot from before the UPDATE: the status the condition was
  // checked against, or NULL when the job does not exist.
  sql += " RETURNING 1) SELECT (SELECT count(*) FROM u), (SELECT status FROM jobs WHERE job_id = " +
         id + "::text)";
  STEREOSPOT_ASSIGN_OR_RETURN(PgRows rows, db_->Execute(sql, params.values()));
  if (rows.Int(0, 0) == 1) return Status::OK();
  if (rows.IsNull(0, 1)) return NoJob(job_id);
  return Status::Conflict("job " + std::string(job_id) + " is " + std::string(rows.Text(0, 1)) +
                          ", not " +
                          std::string(JobStatusName(expected.value_or(JobStatus::kCreated))));
}

Status PgJobStore::TransitionStatus(std::string_view job_id, JobStatus expected, JobStatus next,
                                    const JobUpdate& update) {
  if (!IsAllowedTransition(expected, next)) {
    return Status::InvalidArgument("transition " + std::string(JobStatusName(expected)) + " -> " +
                                   std::string(JobStatusName(next)) + " is not allowed");
  }
  return ApplyUpdate(job_id, expected, next, update);
}

Status PgJobStore::UpdateFields(std::string_view job_id, const JobUpdate& update,
                                std::optional<JobStatus> expected) {
  return ApplyUpdate(job_id, expected, std::nullopt, update);
}

Result<JobPage> PgJobStore::List(const JobListQuery& query) {
  if (query.limit < 1 || query.limit > 500) {
    return Status::InvalidArgument("limit must be in [1, 500]");
  }
  const bool by_created = query.order == JobOrder::kCreatedDesc;
  const char* sort_column = by_created ? "created_at" : "completed_at";
  Params params;
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE ";
  if (query.status) {
    sql += "status = " + params.Add(std::string(JobStatusName(*query.status))) + "::text";
  } else {
    sql += "status <> 'deleted'";
  }
  if (!by_created) sql += " AND completed_at > 0";
  if (!query.cursor.empty()) {
    STEREOSPOT_ASSIGN_OR_RETURN(auto position, ParseCursor(query.order, query.cursor));
    sql += std::string(" AND (") + sort_column + ", job_id) < (" + params.Add(position.first) +
           "::bigint, " + params.Add(position.second) + "::text)";
  }
  sql += std::string(" ORDER BY ") + sort_column + " DESC, job_id DESC LIMIT " +
         params.Add(std::int64_t{query.limit + 1}) + "::bigint";
  STEREOSPOT_ASSIGN_OR_RETURN(PgRows rows, db_->Execute(sql, params.values()));
  JobPage page;
  for (int i = 0; i < rows.size() && i < query.limit; ++i) {
    STEREOSPOT_ASSIGN_OR_RETURN(Job job, RowToJob(rows, i));
    page.jobs.push_back(std::move(job));
  }
  if (rows.size() > query.limit) {
    const Job& last = page.jobs.back();
    page.next_cursor =
        MakeCursor(query.order, by_created ? last.created_at : last.completed_at, last.job_id);
  }
  return page;
}

Status PgJobStore::PutCompletion(const SegmentCompletion& c) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(c.job_id));
  if (c.segment_index < 0) return Status::InvalidArgument("segment_index must be >= 0");
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute(
          "WITH j AS (SELECT 1 FROM jobs WHERE job_id = $1::text), "
          "ins AS (INSERT INTO segment_completions (job_id, segment_index, output_key, frames, "
          "duration_seconds, completed_at, worker_id, conversion_seconds) "
          "SELECT $1::text, $2::integer, $3::text, $4::bigint, $5::float8, $6::bigint, $7::text, "
          "$8::float8 FROM j ON CONFLICT DO NOTHING RETURNING 1) "
          "SELECT (SELECT count(*) FROM j)",
          {c.job_id, std::int64_t{c.segment_index}, c.output_key, c.frames, c.duration_seconds,
           c.completed_at != 0 ? c.completed_at : NowMillis(), c.worker_id, c.conversion_seconds}));
  if (rows.Int(0, 0) == 0) return NoJob(c.job_id);
  return Status::OK();
}

Result<int> PgJobStore::CountCompletions(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute("SELECT EXISTS (SELECT 1 FROM jobs WHERE job_id = $1::text), "
                   "(SELECT count(*) FROM segment_completions WHERE job_id = $1::text)",
                   {std::string(job_id)}));
  if (!rows.Bool(0, 0)) return NoJob(job_id);
  return static_cast<int>(rows.Int(0, 1));
}

Result<std::map<JobStatus, std::int64_t>> PgJobStore::CountByStatus() {
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows, db_->Execute("SELECT status, count(*) FROM jobs GROUP BY status", {}));
  std::map<JobStatus, std::int64_t> counts;
  for (int r = 0; r < rows.size(); ++r) {
    auto status = ParseJobStatus(rows.Text(r, 0));
    if (!status) {
      return Status::DataLoss("unknown job status '" + std::string(rows.Text(r, 0)) + "'");
    }
    counts[*status] = rows.Int(r, 1);
  }
  return counts;
}

Result<std::vector<SegmentCompletion>> PgJobStore::ListCompletions(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  // The left join yields no row for an unknown job and one all-NULL row for a job without
  // completions, so one statement answers both questions.
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute("SELECT c.segment_index, c.output_key, c.frames, c.duration_seconds, "
                   "c.completed_at, c.worker_id, c.conversion_seconds FROM jobs j "
                   "LEFT JOIN segment_completions c ON c.job_id = j.job_id "
                   "WHERE j.job_id = $1::text ORDER BY c.segment_index",
                   {std::string(job_id)}));
  if (rows.empty()) return NoJob(job_id);
  std::vector<SegmentCompletion> out;
  for (int r = 0; r < rows.size(); ++r) {
    if (rows.IsNull(r, 0)) continue;
    out.push_back(SegmentCompletion{std::string(job_id), static_cast<int>(rows.Int(r, 0)),
                                    std::string(rows.Text(r, 1)), rows.Int(r, 2), rows.Double(r, 3),
                                    rows.Int(r, 4), std::string(rows.Text(r, 5)),
                                    rows.Double(r, 6)});
  }
  return out;
}

Result<bool> PgJobStore::CreateTriggerOnce(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute(std::string("WITH j AS (SELECT 1 FROM jobs WHERE job_id = $1::text), "
                               "ins AS (INSERT INTO reassembly_triggers (job_id, created_at) "
                               "SELECT $1::text, ") +
                       kPgNowMillis +
                       " FROM j ON CONFLICT DO NOTHING RETURNING 1) "
                       "SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM ins)",
                   {std::string(job_id)}));
  if (rows.Int(0, 0) == 0) return NoJob(job_id);
  return rows.Int(0, 1) == 1;
}

Result<ReassemblyTrigger> PgJobStore::GetTrigger(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows, db_->Execute("SELECT job_id, created_at, lease_owner, lease_expires_at FROM "
                                "reassembly_triggers WHERE job_id = $1::text",
                                {std::string(job_id)}));
  if (rows.empty()) {
    return Status::NotFound("job " + std::string(job_id) + " has no reassembly trigger");
  }
  return ReassemblyTrigger{std::string(rows.Text(0, 0)), rows.Int(0, 1),
                           std::string(rows.Text(0, 2)), rows.Int(0, 3)};
}

Result<bool> PgJobStore::AcquireLease(std::string_view job_id, std::string_view owner,
                                      std::chrono::milliseconds ttl) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  if (owner.empty() || ttl.count() <= 0) {
    return Status::InvalidArgument("a lease needs an owner and a positive ttl");
  }
  // A concurrent acquirer blocks on the row lock and re-checks the condition against the
  // winner's row, so exactly one of them gets a free or expired lease.
  const std::string now = kPgNowMillis;
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute("WITH u AS (UPDATE reassembly_triggers SET lease_owner = $2::text, "
                   "lease_expires_at = " +
                       now +
                       " + $3::bigint WHERE job_id = $1::text AND (lease_owner = '' OR "
                       "lease_owner = $2::text OR lease_expires_at <= " +
                       now +
                       ") RETURNING 1) SELECT (SELECT count(*) FROM u), "
                       "(SELECT count(*) FROM reassembly_triggers WHERE job_id = $1::text)",
                   {std::string(job_id), std::string(owner), std::int64_t{ttl.count()}}));
  if (rows.Int(0, 0) == 1) return true;
  if (rows.Int(0, 1) == 0) {
    return Status::NotFound("job " + std::string(job_id) + " has no reassembly trigger");
  }
  return false;
}

Status PgJobStore::RenewLease(std::string_view job_id, std::string_view owner,
                              std::chrono::milliseconds ttl) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  // Renewing a lease that expired but was not taken over is allowed: nobody else can have
  // started the work, so the owner may go on.
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute(std::string("UPDATE reassembly_triggers SET lease_expires_at = ") +
                       kPgNowMillis +
                       " + $3::bigint WHERE job_id = $1::text AND lease_owner = "
                       "$2::text",
                   {std::string(job_id), std::string(owner), std::int64_t{ttl.count()}}));
  if (rows.affected() == 1) return Status::OK();
  return Status::Conflict("lease of job " + std::string(job_id) + " is not held by " +
                          std::string(owner));
}

Status PgJobStore::ReleaseLease(std::string_view job_id, std::string_view owner) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  return db_
      ->Execute(
          "UPDATE reassembly_triggers SET lease_owner = '', lease_expires_at = 0 "
          "WHERE job_id = $1::text AND lease_owner = $2::text",
          {std::string(job_id), std::string(owner)})
      .status();
}

Status PgJobStore::ResetProgress(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckId(job_id));
  // Data-modifying CTEs run to completion even though nothing reads them.
  return db_
      ->Execute(
          "WITH c AS (DELETE FROM segment_completions WHERE job_id = $1::text), "
          "t AS (DELETE FROM reassembly_triggers WHERE job_id = $1::text) SELECT 1",
          {std::string(job_id)})
      .status();
}

}  // namespace stereospot::postgres

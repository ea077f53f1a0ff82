#include "adapters/postgres/pg_migrations.h"

namespace stereospot::postgres {
namespace {

// Times are Unix milliseconds in BIGINT columns, as in the embedded backend, so records read the
// same from either store.
const char* const kMigrations[] = {
    // Version 1: jobs, completions, triggers, queues.
    R"sql(
CREATE TABLE jobs (
  job_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  params JSONB NOT NULL,
  title TEXT NOT NULL,
  source_key TEXT NOT NULL,
  source_bytes BIGINT NOT NULL,
  total_segments INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  uploaded_at BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  completed_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  error_stage TEXT,
  error_message TEXT,
  attempts INTEGER NOT NULL
);
CREATE INDEX jobs_by_created ON jobs (created_at, job_id);
CREATE INDEX jobs_by_status_created ON jobs (status, created_at, job_id);
CREATE INDEX jobs_by_completed ON jobs (completed_at, job_id);
CREATE TABLE segment_completions (
  job_id TEXT NOT NULL,
  segment_index INTEGER NOT NULL,
  output_key TEXT NOT NULL,
  frames BIGINT NOT NULL,
  duration_seconds DOUBLE PRECISION NOT NULL,
  completed_at BIGINT NOT NULL,
  worker_id TEXT NOT NULL,
  conversion_seconds DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (job_id, segment_index)
);
CREATE TABLE reassembly_triggers (
  job_id TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE queue_messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL UNIQUE,
  body TEXT NOT NULL,
  sent_at BIGINT NOT NULL,
  visible_at BIGINT NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  receipt TEXT UNIQUE,
  dead BOOLEAN NOT NULL DEFAULT false,
  dead_reason TEXT,
  dead_at BIGINT
);
CREATE INDEX queue_ready ON queue_messages (queue, visible_at, id) WHERE NOT dead;
CREATE INDEX queue_dead ON queue_messages (queue, dead_at, id) WHERE dead;
)sql",
};

}  // namespace

std::span<const char* const> PgMigrations() { return kMigrations; }

}  // namespace stereospot::postgres

// The PostgreSQL schema, as numbered migrations (applied by PgDatabase::Connect).
#pragma once

#include <span>

namespace stereospot::postgres {

// Migration i (0-based) brings the schema from version i to version i + 1. Each runs once, in
// the migrating transaction, with search_path set to the target schema. Append only: a released
// migration is never edited; a change is a new one.
std::span<const char* const> PgMigrations();

}  // namespace stereospot::postgres

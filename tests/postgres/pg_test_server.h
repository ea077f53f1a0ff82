// Where the PostgreSQL tests find their server, and fresh schemas on it.
//
// ctest's postgres fixture (scripts/test-postgres.sh) starts a throwaway cluster and points
// STEREOSPOT_TEST_PG_STATE at its state directory; STEREOSPOT_TEST_PG (a conninfo) overrides it
// for a server of one's own. A test without a server fails, naming what to install.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "core/ids.h"

namespace stereospot::postgres::testing {

inline std::string TestConninfo() {
  if (const char* conninfo = std::getenv("STEREOSPOT_TEST_PG"); conninfo && *conninfo) {
    return conninfo;
  }
  if (const char* state = std::getenv("STEREOSPOT_TEST_PG_STATE"); state && *state) {
    std::ifstream in(std::string(state) + "/conninfo");
    std::string conninfo;
    if (std::getline(in, conninfo) && !conninfo.empty()) return conninfo;
  }
  ADD_FAILURE() << "no PostgreSQL test server: run these tests through ctest, whose "
                   "postgres_server_start fixture starts one with scripts/test-postgres.sh "
                   "(needs the server binaries: apt-get install postgresql-15), or set "
                   "STEREOSPOT_TEST_PG to a conninfo";
  return "";
}

// A schema name no other test uses.
inline std::string NewTestSchema() { return "test_" + RandomHex(8); }

}  // namespace stereospot::postgres::testing

// The stereospot binary: parses the command line and runs one subcommand (DESIGN.md section 2).
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#ifdef STEREOSPOT_HAVE_EVAL
#include "cli/eval_command.h"
#endif
#ifdef STEREOSPOT_HAVE_SERVER
#include "cli/api_command.h"
#endif
#ifdef STEREOSPOT_HAVE_WORKERS
#include "cli/workers.h"
#endif

int main(int argc, char** argv) {
  using namespace stereospot::cli;
  CLI::App app{"StereoSpot: turns 2D video into stereo 3D", "stereospot"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stereospot 0.1.0");
  CliContext ctx;
  app.add_option("--config", ctx.globals.config_file,
                 "TOML configuration file (default: $STEREOSPOT_CONFIG)");
  app.add_option("--set", ctx.globals.sets, "Override a setting: --set queue.max_receives=3")
      ->take_all();
  app.add_option("--data-dir", ctx.globals.data_dir, "Data directory of the embedded backend");

  RegisterServeCommand(app, ctx);
  RegisterConfigCommands(app, ctx);
  RegisterJobsCommands(app, ctx);
  RegisterQueueCommands(app, ctx);
#ifdef STEREOSPOT_HAVE_SERVER
  RegisterApiCommand(app, ctx);
#endif
#ifdef STEREOSPOT_HAVE_WORKERS
  RegisterJobActionCommands(app, ctx);
  RegisterWorkerCommands(app, ctx);
  RegisterConvertCommand(app, ctx);
#endif
#ifdef STEREOSPOT_HAVE_EVAL
  RegisterEvalCommand(app);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints usage errors, --help and --version
    return code == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::Error& e) {
    // A subcommand that reports its failure by throwing CLI::RuntimeError (eval).
    return app.exit(e);
  }
  return ctx.exit_code;
}

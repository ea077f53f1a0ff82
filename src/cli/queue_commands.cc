// `stereospot queues` and `stereospot dlq list|replay|purge QUEUE`.
#include <iomanip>
#include <iostream>

#include "cli/cli_context.h"
#include "cli/wiring.h"
#include "core/job.h"
#include "core/messages.h"

namespace stereospot::cli {
namespace {

struct DlqArgs {
  std::string queue;
  std::string message_id;
  int limit = 100;
  bool yes = false;
  bool json = false;
};

int RunQueues(const GlobalOptions& globals, bool json) {
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (!backend.ok()) return ReportError(backend.status());
  nlohmann::json out = nlohmann::json::object();
  if (!json) {
    std::cout << std::left << std::setw(14) << "QUEUE" << std::setw(10) << "VISIBLE"
              << std::setw(11) << "IN_FLIGHT" << std::setw(9) << "DELAYED"
              << "DLQ\n";
  }
  for (std::string_view name : kAllQueueNames) {
    auto depth = backend->queues.at(std::string(name))->Depth();
    if (!depth.ok()) return ReportError(depth.status());
    if (json) {
      out[std::string(name)] = {{"visible", depth->visible},
                                {"in_flight", depth->in_flight},
                                {"delayed", depth->delayed},
                                {"dead_letter", depth->dead_letter}};
    } else {
      std::cout << std::setw(14) << name << std::setw(10) << depth->visible << std::setw(11)
                << depth->in_flight << std::setw(9) << depth->delayed << depth->dead_letter << "\n";
    }
  }
  if (json) std::cout << out.dump(2) << "\n";
  return kExitOk;
}

// Opens the backend and finds the queue; prints the error and sets `exit_code` on failure.
WorkQueue* OpenQueue(const GlobalOptions& globals, const std::string& name,
                     std::optional<Backend>& backend, int& exit_code) {
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) {
    exit_code = kExitUsage;
    return nullptr;
  }
  auto opened = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (!opened.ok()) {
    exit_code = ReportError(opened.status());
    return nullptr;
  }
  backend = std::move(opened).value();
  auto queue = backend->Queue(name);
  if (!queue.ok()) {
    exit_code = kExitUsage;
    std::cerr << "error: " << queue.status().message() << "\n";
    return nullptr;
  }
  return *queue;
}

int RunDlqList(const GlobalOptions& globals, const DlqArgs& args) {
  std::optional<Backend> backend;
  int exit_code = kExitOk;
  WorkQueue* queue = OpenQueue(globals, args.queue, backend, exit_code);
  if (queue == nullptr) return exit_code;
  auto dead = queue->ListDeadLetters(args.limit);
  if (!dead.ok()) return ReportError(dead.status());
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *dead) {
      out.push_back({{"message_id", m.message_id},
                     {"body", m.body},
                     {"job_id", JobIdForLog(m.body)},
                     {"receive_count", m.receive_count},
                     {"sent_at", FormatTimestamp(m.sent_at)},
                     {"reason", m.dead_letter_reason}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << dead->size() << " message(s) in the dead-letter queue of " << args.queue << "\n";
  for (const auto& m : *dead) {
    std::cout << m.message_id << "  job_id=" << JobIdForLog(m.body)
              << "  receives=" << m.receive_count << "  sent=" << FormatTimestamp(m.sent_at)
              << "\n    reason: " << m.dead_letter_reason << "\n    body: " << m.body << "\n";
  }
  return kExitOk;
}

int RunDlqChange(const GlobalOptions& globals, const DlqArgs& args, bool replay) {
  std::optional<Backend> backend;
  int exit_code = kExitOk;
  WorkQueue* queue = OpenQueue(globals, args.queue, backend, exit_code);
  if (queue == nullptr) return exit_code;
  auto depth = queue->Depth();
  if (!depth.ok()) return ReportError(depth.status());
  std::string what = args.message_id.empty()
                         ? "all " + std::to_string(depth->dead_letter) + " message(s)"
                         : "message " + args.message_id;
  std::string question = (replay ? "Replay " : "Permanently delete ") + what +
                         " in the dead-letter queue of " + args.queue +
                         (replay ? " back to the queue?" : "?");
  if (!args.yes && !Confirm(question)) {
    std::cerr << "nothing changed\n";
    return kExitFailure;
  }
  auto changed =
      replay ? queue->ReplayDeadLetters(args.message_id) : queue->PurgeDeadLetters(args.message_id);
  if (!changed.ok()) return ReportError(changed.status());
  std::cout << (replay ? "replayed " : "purged ") << *changed << " message(s) "
            << (replay ? "to " : "from the dead-letter queue of ") << args.queue << "\n";
  return kExitOk;
}

}  // namespace

void RegisterQueueCommands(CLI::App& app, CliContext& ctx) {
  auto queues_json = std::make_shared<bool>(false);
  CLI::App* queues = app.add_subcommand("queues", "Show queue depths");
  queues->add_flag("--json", *queues_json, "Print JSON");
  queues->callback([&ctx, queues_json] { ctx.exit_code = RunQueues(ctx.globals, *queues_json); });

  CLI::App* dlq = app.add_subcommand("dlq", "Inspect and act on dead-letter queues");
  dlq->require_subcommand(1);
  auto add_common = [](CLI::App* sub, DlqArgs& args) {
    sub->add_option("QUEUE", args.queue, "chunking, segments, reassembly or deletion")->required();
  };

  auto list_args = std::make_shared<DlqArgs>();
  CLI::App* list = dlq->add_subcommand("list", "List messages in a dead-letter queue");
  add_common(list, *list_args);
  list->add_option("--limit", list_args->limit, "At most this many (1-1000)")
      ->check(CLI::Range(1, 1000));
  list->add_flag("--json", list_args->json, "Print JSON");
  list->callback([&ctx, list_args] { ctx.exit_code = RunDlqList(ctx.globals, *list_args); });

  for (bool replay : {true, false}) {
    auto args = std::make_shared<DlqArgs>();
    CLI::App* sub = dlq->add_subcommand(
        replay ? "replay" : "purge",
        replay ? "Move dead-letter messages back to their queue" : "Delete dead-letter messages");
    add_common(sub, *args);
    sub->add_option("--id", args->message_id, "Only this message (default: all)");
    sub->add_flag("--yes,-y", args->yes, "Do not ask for confirmation");
    sub->callback(
        [&ctx, args, replay] { ctx.exit_code = RunDlqChange(ctx.globals, *args, replay); });
  }
}

}  // namespace stereospot::cli

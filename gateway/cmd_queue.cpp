// The command line of `fieldgate queue`: its subcommands and options. The
// tool itself is in queue/ (queue_command.hpp).
#include "gateway/cmd_queue.hpp"

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "queue/queue_command.hpp"

namespace fieldgate::gateway {

using queue::QueueOptions;
using queue::run_queue;

void add_queue_command(CLI::App& app, int& exit_code) {
  auto* queue = app.add_subcommand(
      "queue",
      "Inspect the store-and-forward buffer and its dead letters: read-only except purge, also "
      "while the gateway runs (exit 0, 1 on error)");
  queue->require_subcommand(1);
  // The callbacks own the options: they must outlive add_queue_command().
  auto options = std::make_shared<QueueOptions>();
  auto add = [&](const char* name, const char* help) {
    auto* cmd = queue->add_subcommand(name, help);
    cmd->add_option("--db", options->db, "The buffer database ([store] path)")->required();
    cmd->add_flag("--json", options->json, "Machine-readable output (JSON)");
    cmd->callback([options, &exit_code, name] {
      options->action = name;
      exit_code = run_queue(*options, std::cout, std::cerr);
    });
    return cmd;
  };
  auto add_filters = [&](CLI::App* cmd, bool since) {
    cmd->add_option("--device", options->device, "Only this device");
    cmd->add_option("--point", options->point, "Only this point");
    if (since) {
      cmd->add_option("--since", options->since,
                      "Only readings at or after TIME (ISO 8601, UTC by default) or in the last "
                      "DURATION (e.g. 2h)");
    }
    cmd->add_option("--before", options->before,
                    "Only readings before TIME, or older than DURATION (e.g. 48h)");
  };

  add("stats", "Depth, bytes, oldest/newest, next seq, dropped totals, counts per device/point");

  auto* ls = add("ls", "List buffered readings, oldest first");
  add_filters(ls, true);
  ls->add_flag("--dead", options->dead,
               "List the dead letters (readings that could not be sent) instead");
  ls->add_option("--limit", options->limit, "At most N readings (default 50, 0 = all)")
      ->check(CLI::NonNegativeNumber);

  auto* show = add("show", "Everything stored about one reading");
  show->add_option("seq", options->seq, "The reading's seq")->required();

  auto* exp = add("export", "Write buffered readings as JSON lines or CSV");
  add_filters(exp, true);
  exp->add_option("--limit", options->limit, "At most N readings (default all)")
      ->check(CLI::NonNegativeNumber);
  exp->add_option("--format", options->format, "jsonl or csv")
      ->check(CLI::IsMember({"jsonl", "csv"}))
      ->capture_default_str();
  exp->add_option("--output", options->output,
                  "Write to FILE (a new 0600 file renamed into place) instead of stdout");
  exp->add_flag("--dead", options->dead, "Export the dead letters instead");

  auto* purge = add("purge",
                    "Delete buffered readings (gateway stopped; needs a filter or --all, and "
                    "--yes)");
  add_filters(purge, false);
  purge->add_flag("--all", options->all, "Every buffered reading");
  purge->add_flag("--yes", options->yes, "Really delete (without it, only says how many, exit 0)");
  purge->add_flag("--dead", options->dead, "Delete dead letters instead of readings");
}

}  // namespace fieldgate::gateway

// An in-process metrics registry (DESIGN.md section 9): counters, gauges and histograms with
// labels, rendered in the Prometheus text exposition format (version 0.0.4) for /metrics.
//
// Metrics are registered by name and label set; asking again for the same name and labels
// returns the same metric, so components may register lazily. A name belongs to one type and one
// help text; registering it as another type, with other histogram buckets, or with an invalid
// name or label name is kInvalidArgument. Registered metrics live as long as the registry and
// never move, so callers keep the returned pointers.
//
// Threading: everything is thread-safe. Updates are lock-free for counters and gauges and take a
// per-histogram lock; registration and rendering take the registry's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace stereospot::pipeline {

// Label names to values; ordered so that one label set has one spelling.
using MetricLabels = std::map<std::string, std::string>;

// A value that only goes up (events, seconds spent).
class Counter {
 public:
  // Adds `by` (>= 0; negative and non-finite amounts are ignored: a counter never goes down).
  void Increment(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (queue depth, stalled jobs).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into cumulative buckets (le = upper bound, inclusive), with sum and count.
class Histogram {
 public:
  // `bounds`: strictly increasing finite upper bounds; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf last
    double sum = 0;
    std::uint64_t count = 0;
  };
  // A consistent view (buckets, sum and count from the same moment).
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// Bucket bounds for segment conversion seconds: 1 s to about 1 h.
std::vector<double> SegmentSecondsBuckets();

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Result<Counter*> GetCounter(std::string_view name, std::string_view help,
                              const MetricLabels& labels = {});
  Result<Gauge*> GetGauge(std::string_view name, std::string_view help,
                          const MetricLabels& labels = {});
  // `bounds` must match those of earlier registrations of the same name.
  Result<Histogram*> GetHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds, const MetricLabels& labels = {});

  // Every metric in the Prometheus text format: per name (in lexical order) a # HELP and a
  // # TYPE line, then one line per label set (histograms: _bucket lines with le, _sum, _count).
  // Label values and help text are escaped as the format requires.
  std::string RenderPrometheus() const;

 private:
  struct Family;
  Result<Family*> FindOrAddFamily(std::string_view name, std::string_view help, int type,
                                  const MetricLabels& labels, const std::vector<double>* bounds);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

// Names of the pipeline's metrics, so producers and tests agree on them.
inline constexpr std::string_view kSegmentConversionSeconds =
    "stereospot_segment_conversion_seconds";
inline constexpr std::string_view kMessagesTotal = "stereospot_messages_total";
inline constexpr std::string_view kStalledJobs = "stereospot_janitor_stalled_jobs";
inline constexpr std::string_view kJanitorActionsTotal = "stereospot_janitor_actions_total";
inline constexpr std::string_view kReassemblyTriggersTotal = "stereospot_reassembly_triggers_total";

// The segment conversion histogram (kSegmentConversionSeconds, SegmentSecondsBuckets()).
Result<Histogram*> SegmentConversionSeconds(MetricsRegistry& registry);

}  // namespace stereospot::pipeline

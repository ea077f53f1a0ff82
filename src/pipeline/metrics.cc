#include "pipeline/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace stereospot::pipeline {
namespace {

enum FamilyType { kCounterType = 0, kGaugeType = 1, kHistogramType = 2 };

constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};

bool IsNameStart(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty() || !IsNameStart(name[0], allow_colon)) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return IsNameStart(c, allow_colon) || (c >= '0' && c <= '9'); });
}

Status CheckLabels(const MetricLabels& labels, bool histogram) {
  for (const auto& [key, value] : labels) {
    // "__" names are reserved by Prometheus; "le" is the histogram's own bucket label.
    if (!IsValidName(key, false) || key.starts_with("__") || (histogram && key == "le")) {
      return Status::InvalidArgument("invalid metric label name '" + key + "'");
    }
  }
  return Status::OK();
}

// Shortest text that reads back as the same double, in the spellings Prometheus accepts.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="1",b="2"}` (empty for no labels); `extra` is appended last (the histogram's le).
std::string FormatLabels(const MetricLabels& labels, std::string_view extra = {}) {
  if (labels.empty() && extra.empty()) return "";
  std::string out = "{";
  for (const auto& [key, value] : labels) {
    if (out.size() > 1) out += ',';
    out += key + "=\"" + EscapeLabelValue(value) + "\"";
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ',';
    out += extra;
  }
  return out + "}";
}

void AddAtomic(std::atomic<double>& target, double by) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + by, std::memory_order_relaxed)) {
  }
}

}  // namespace

void Counter::Increment(double by) {
  if (!(by >= 0) || std::isinf(by)) return;
  AddAtomic(value_, by);
}

void Gauge::Add(double by) { AddAtomic(value_, by); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // The first bound >= value is the bucket (le is inclusive); past the last, +Inf.
  auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                        bounds_.begin());
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_[index];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t running = 0;
  for (std::uint64_t c : counts_) {
    running += c;
    snapshot.cumulative.push_back(running);
  }
  snapshot.sum = sum_;
  snapshot.count = count_;
  return snapshot;
}

std::vector<double> SegmentSecondsBuckets() {
  return {1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600};
}

struct MetricsRegistry::Family {
  std::string help;
  int type = kCounterType;
  std::vector<double> bounds;
  std::map<MetricLabels, std::unique_ptr<Counter>> counters;
  std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
  std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Result<MetricsRegistry::Family*> MetricsRegistry::FindOrAddFamily(
    std::string_view name, std::string_view help, int type, const MetricLabels& labels,
    const std::vector<double>* bounds) {
  if (!IsValidName(name, true)) {
    return Status::InvalidArgument("invalid metric name '" + std::string(name) + "'");
  }
  STEREOSPOT_RETURN_IF_ERROR(CheckLabels(labels, type == kHistogramType));
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->help = std::string(help);
    family->type = type;
    if (bounds != nullptr) family->bounds = *bounds;
    it = families_.emplace(std::string(name), std::move(family)).first;
  }
  Family* family = it->second.get();
  if (family->type != type) {
    return Status::InvalidArgument("metric '" + std::string(name) + "' is already a " +
                                   kTypeNames[family->type]);
  }
  if (bounds != nullptr && family->bounds != *bounds) {
    return Status::InvalidArgument("metric '" + std::string(name) +
                                   "' is already registered with other buckets");
  }
  return family;
}

Result<Counter*> MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                             const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  STEREOSPOT_ASSIGN_OR_RETURN(Family * family,
                              FindOrAddFamily(name, help, kCounterType, labels, nullptr));
  auto& slot = family->counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Result<Gauge*> MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                         const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  STEREOSPOT_ASSIGN_OR_RETURN(Family * family,
                              FindOrAddFamily(name, help, kGaugeType, labels, nullptr));
  auto& slot = family->gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Result<Histogram*> MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                                 std::vector<double> bounds,
                                                 const MetricLabels& labels) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return Status::InvalidArgument("histogram bounds of '" + std::string(name) +
                                     "' must be finite and strictly increasing");
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  STEREOSPOT_ASSIGN_OR_RETURN(Family * family,
                              FindOrAddFamily(name, help, kHistogramType, labels, &bounds));
  auto& slot = family->histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return slot.get();
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + EscapeHelp(family->help) + "\n";
    out += "# TYPE " + name + " " + kTypeNames[family->type] + "\n";
    for (const auto& [labels, counter] : family->counters) {
      out += name + FormatLabels(labels) + " " + FormatValue(counter->value()) + "\n";
    }
    for (const auto& [labels, gauge] : family->gauges) {
      out += name + FormatLabels(labels) + " " + FormatValue(gauge->value()) + "\n";
    }
    for (const auto& [labels, histogram] : family->histograms) {
      Histogram::Snapshot s = histogram->Read();
      for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
        double bound = i < s.bounds.size() ? s.bounds[i] : std::numeric_limits<double>::infinity();
        out += name + "_bucket" + FormatLabels(labels, "le=\"" + FormatValue(bound) + "\"") + " " +
               std::to_string(s.cumulative[i]) + "\n";
      }
      out += name + "_sum" + FormatLabels(labels) + " " + FormatValue(s.sum) + "\n";
      out += name + "_count" + FormatLabels(labels) + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

Result<Histogram*> SegmentConversionSeconds(MetricsRegistry& registry) {
  return registry.GetHistogram(kSegmentConversionSeconds,
                               "Seconds spent converting one segment (decode, depth, synthesis, "
                               "encode).",
                               SegmentSecondsBuckets());
}

}  // namespace stereospot::pipeline

#include "bench/serve/node_series.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace keel::bench {
namespace {

// Metric families of a node exporter; a target's kSeriesPerTarget names are
// these with a numeric suffix from the second round on.
constexpr std::array<std::string_view, 40> kFamilies = {
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_filesystem_avail_bytes",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_disk_io_time_seconds_total",
    "node_load1",
    "node_load5",
    "node_load15",
    "node_context_switches_total",
    "node_intr_total",
    "node_forks_total",
    "node_procs_running",
    "node_procs_blocked",
    "node_filefd_allocated",
    "node_sockstat_TCP_inuse",
    "node_netstat_Tcp_CurrEstab",
    "node_vmstat_pgfault",
    "node_memory_Cached_bytes",
    "node_memory_Buffers_bytes",
    "node_memory_Active_bytes",
    "node_memory_Inactive_bytes",
    "node_filesystem_size_bytes",
    "node_filesystem_files_free",
    "node_network_receive_packets_total",
    "node_network_transmit_packets_total",
    "node_network_receive_drop_total",
    "node_disk_reads_completed_total",
    "node_disk_writes_completed_total",
    "node_entropy_available_bits",
    "node_time_seconds",
    "node_boot_time_seconds",
    "node_nf_conntrack_entries",
    "node_schedstat_running_seconds_total",
    "node_pressure_cpu_waiting_seconds_total",
    "node_timex_offset_seconds",
    "node_textfile_scrape_error",
    "node_scrape_collector_duration_seconds",
};

constexpr std::array<std::string_view, 8> kNamespaces = {
    "monitoring", "kube-system", "observability", "prometheus",
    "platform",   "infra",       "telemetry",     "default"};

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void PutVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutBytes(int field, std::string_view bytes, std::string& out) {
  PutVarint(static_cast<uint64_t>(field) << 3 | 2, out);
  PutVarint(bytes.size(), out);
  out.append(bytes);
}

// One Label message (name = 1, value = 2) as field 1 of a TimeSeries.
void PutLabel(std::string_view name, std::string_view value, std::string& label,
              std::string& out) {
  label.clear();
  PutBytes(1, name, label);
  PutBytes(2, value, label);
  PutBytes(1, label, out);
}

std::string MetricName(uint64_t m) {
  std::string_view family = kFamilies[m % kFamilies.size()];
  const uint64_t round = m / kFamilies.size();
  return round == 0 ? std::string(family) : absl::StrCat(std::string(family), "_", round);
}

std::string PodName(uint64_t target) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string pod = "node-exporter-";
  for (uint64_t h = Mix(target + 1), k = 0; k < 5; ++k, h /= 36) {
    pod.push_back(kDigits[h % 36]);
  }
  return pod;
}

}  // namespace

double NodeSeries::Value(uint64_t i, uint64_t scrape) {
  const uint64_t h = Mix(i);
  const uint64_t jitter = Mix(h ^ (scrape + 1));
  switch (i % NodeSeries::kSeriesPerTarget % 3) {
    case 0:  // a counter: a steady rate with hundredths of noise
      return static_cast<double>(h % 1'000'000) +
             static_cast<double>(scrape) * static_cast<double>(h % 97 + 1) *
                 0.25 +
             static_cast<double>(jitter % 100) * 0.01;
    case 1:  // a gauge of bytes, moving by pages
      return static_cast<double>((h % 1'000'000'000) / 4096 * 4096 +
                                 jitter % 256 * 4096);
    default:  // a constant (sizes, info metrics)
      return static_cast<double>(h % 100);
  }
}

std::string NodeSeries::WriteRequest(uint64_t first, uint64_t count,
                                     uint64_t scrape, int64_t t_ms) const {
  const uint64_t end = std::min(series_, first + count);
  std::string out, series, label, sample;
  out.reserve((end - first) * 200);
  for (uint64_t i = first; i < end; ++i) {
    const uint64_t target = i / kSeriesPerTarget;
    series.clear();
    PutLabel("__name__", MetricName(i % kSeriesPerTarget), label, series);
    PutLabel("container", "node-exporter", label, series);
    PutLabel("instance",
             absl::StrCat("10.", target >> 16 & 255, ".", target >> 8 & 255,
                          ".", target & 255, ":9100"),
             label, series);
    PutLabel("job", "node-exporter", label, series);
    PutLabel("namespace", kNamespaces[Mix(target) % kNamespaces.size()], label,
             series);
    PutLabel("pod", PodName(target), label, series);
    // Sample: value = 1 (double), timestamp = 2 (int64).
    sample.clear();
    sample.push_back(static_cast<char>(1 << 3 | 1));
    const double value = Value(i, scrape);
    char bits[8];
    std::memcpy(bits, &value, 8);  // little-endian, as protobuf's fixed64
    sample.append(bits, 8);
    PutVarint(2 << 3 | 0, sample);
    PutVarint(static_cast<uint64_t>(t_ms), sample);
    PutBytes(2, sample, series);
    PutBytes(1, series, out);
  }
  return out;
}

}  // namespace keel::bench

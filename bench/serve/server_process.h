// ServerProcess: a server a benchmark starts as a child process on a
// loopback port (keel serve, Prometheus), waits for, measures and stops.
//
//   int port = FreeLoopbackPort();
//   absl::StatusOr<ServerProcess> keel = ServerProcess::Start(
//       {"/proc/self/exe", "serve", "--listen", ...}, work_dir + "/keel.log");
//   absl::Status ready = keel->WaitReady(port, 60);   // GET /-/ready is 200
//   keel->Stop();                                     // SIGTERM, then wait
//
// Thread safety: none; one thread owns a ServerProcess. Stop runs in the
// destructor, so an early return stops the server too.
#ifndef KEEL_BENCH_SERVE_SERVER_PROCESS_H_
#define KEEL_BENCH_SERVE_SERVER_PROCESS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::bench {

// A TCP port on 127.0.0.1 that nothing listens on right now.
absl::StatusOr<int> FreeLoopbackPort();

class ServerProcess {
 public:
  // Runs argv[0] with `argv`, its stdout and stderr appended to `log_path`.
  static absl::StatusOr<ServerProcess> Start(
      const std::vector<std::string>& argv, const std::string& log_path);

  ServerProcess(ServerProcess&& other) noexcept;
  ServerProcess& operator=(ServerProcess&&) = delete;
  ~ServerProcess();

  int pid() const { return pid_; }
  // Waits until GET /-/ready on 127.0.0.1:port answers 200. Errors name the
  // log when the process exits first or `seconds` pass.
  absl::Status WaitReady(int port, double seconds) const;
  // SIGTERM, then SIGKILL after 60 s; reaps the process.
  void Stop();

 private:
  ServerProcess(int pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}
  bool Exited() const;

  int pid_ = -1;
  std::string log_path_;
  mutable bool reaped_ = false;  // Exited() collected its status
};

}  // namespace keel::bench

#endif  // KEEL_BENCH_SERVE_SERVER_PROCESS_H_

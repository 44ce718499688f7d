#include "bench/serve/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/serve/remote_write_client.h"

namespace keel::bench {

absl::StatusOr<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  const int error = errno;
  close(fd);
  if (port < 0) return absl::ErrnoToStatus(error, "bind 127.0.0.1:0");
  return port;
}

absl::StatusOr<ServerProcess> ServerProcess::Start(
    const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  const int error =
      posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return absl::ErrnoToStatus(error, absl::StrCat("cannot start ", argv[0]));
  }
  return ServerProcess(pid, log_path);
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      log_path_(std::move(other.log_path_)),
      reaped_(other.reaped_) {}

ServerProcess::~ServerProcess() { Stop(); }

bool ServerProcess::Exited() const {
  int status = 0;
  if (!reaped_ && waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
  return reaped_;
}

absl::Status ServerProcess::WaitReady(int port, double seconds) const {
  const Clock::time_point start = Clock::now();
  tools::HttpClient client("127.0.0.1", std::to_string(port), {.timeout_s = 5});
  while (SecondsSince(start) < seconds) {
    if (SendRequest(client, "GET", "/-/ready").status == 200) {
      return absl::OkStatus();
    }
    if (Exited()) {
      return absl::UnavailableError(
          absl::StrCat("pid ", pid_, " exited at start; see ", log_path_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "pid ", pid_, " not ready in ", seconds, " s; see ", log_path_));
}

void ServerProcess::Stop() {
  if (pid_ < 0) return;
  if (!Exited()) {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 600 && !Exited(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!Exited()) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  pid_ = -1;
}

}  // namespace keel::bench

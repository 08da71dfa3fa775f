#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>

namespace poolcalc::test {

namespace {

using Clock = std::chrono::steady_clock;

// Reads both pipes to their end. With a deadline, `on_deadline` runs once when it passes (it
// kills the process, which closes the pipes).
void drain(int out_fd,
           int err_fd,
           std::string& out,
           std::string& err,
           std::optional<Clock::time_point> deadline = {},
           const std::function<void()>& on_deadline = {})
{
  pollfd fds[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
  int open_count = 2;
  char buffer[65536];
  while (open_count > 0) {
    int timeout_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      if (left <= 0) {
        on_deadline();
        deadline.reset();
      } else {
        timeout_ms = static_cast<int>(left);
      }
    }
    const int ready = poll(fds, 2, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::runtime_error("poll failed");
    }
    if (ready == 0) {
      continue; // the deadline, handled above
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        (i == 0 ? out : err).append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
}

} // namespace

Child start_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env)
{
  const auto start = Clock::now();
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

  std::vector<char*> argv;
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  const char* path = std::getenv("PATH");
  std::map<std::string, std::string> full_env = { { "PATH", path != nullptr ? path : "/usr/bin:/bin" } };
  for (const auto& [key, value] : env) {
    full_env[key] = value;
  }
  for (const auto& [key, value] : full_env) {
    env_strings.push_back(key + "=" + value);
  }
  std::vector<char*> envp;
  for (std::string& entry : env_strings) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args.front().c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw std::runtime_error("cannot start " + args.front());
  }
  return { pid, out_pipe[0], err_pipe[0], std::chrono::duration<double>(start.time_since_epoch()).count() };
}

Result finish(Child& child, std::optional<double> limit_s)
{
  const Clock::time_point start{ std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(child.started)) };
  Result result;
  std::optional<Clock::time_point> deadline;
  if (limit_s) {
    deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*limit_s));
  }
  const int pid = child.pid;
  drain(child.out_fd, child.err_fd, result.out, result.err, deadline, [&] {
    result.killed = true;
    kill(pid, SIGKILL);
  });
  int status = 0;
  while (waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  child = Child{};
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Result run_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env)
{
  Child child = start_process(args, env);
  return finish(child);
}

Child start_poolcalc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env)
{
  std::vector<std::string> full = { POOLCALC_BINARY };
  full.insert(full.end(), args.begin(), args.end());
  return start_process(full, env);
}

Result run_poolcalc_killed_after(double limit_s, const std::vector<std::string>& args, const std::map<std::string, std::string>& env)
{
  Child child = start_poolcalc(args, env);
  return finish(child, limit_s);
}

Result run_poolcalc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env)
{
  std::vector<std::string> full = { POOLCALC_BINARY };
  full.insert(full.end(), args.begin(), args.end());
  return run_process(full, env);
}

Result shell(const std::string& command_line, const std::map<std::string, std::string>& env)
{
  std::map<std::string, std::string> full_env = env;
  const std::string bin_dir = std::filesystem::path(POOLCALC_BINARY).parent_path().string();
  const char* path = std::getenv("PATH");
  full_env["PATH"] = bin_dir + ":" + (path != nullptr ? path : "/usr/bin:/bin");
  return run_process({ "/bin/sh", "-c", command_line }, full_env);
}

} // namespace poolcalc::test

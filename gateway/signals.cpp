#include "gateway/signals.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>

#include <pthread.h>

namespace fieldgate::gateway {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

SignalWaiter::SignalWaiter() {
  const auto set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalWaiter::~SignalWaiter() {
  const auto set = handled_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

int SignalWaiter::wait_for(std::chrono::milliseconds timeout) {
  const auto set = handled_signals();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
  const int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;  // -1: EAGAIN (timeout) or EINTR
}

int SignalWaiter::wait_for_stop(std::optional<std::chrono::milliseconds> duration) {
  const auto deadline = duration ? std::chrono::steady_clock::now() + *duration
                                 : std::chrono::steady_clock::time_point::max();
  while (std::chrono::steady_clock::now() < deadline) {
    const int sig = wait_for(std::chrono::milliseconds(200));
    if (sig == SIGINT || sig == SIGTERM) return sig;
  }
  return 0;
}

}  // namespace fieldgate::gateway

#include "bridge/tls_probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace fieldgate::bridge::detail {
namespace {

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  Socket& operator=(Socket&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

struct AddrInfoFree {
  void operator()(addrinfo* a) const noexcept { freeaddrinfo(a); }
};
struct SslCtxFree {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};

bool is_ip_address(const std::string& host) {
  in6_addr buf{};
  return inet_pton(AF_INET, host.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &buf) == 1;
}

// The reason of the oldest queued OpenSSL error ("certificate verify failed"),
// and clears the queue so the next probe starts clean.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_error();
  std::string out;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    out = reason != nullptr ? reason : buf;
  }
  ERR_clear_error();
  return out;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Connects a blocking socket (with send/receive timeouts); "" or why not.
std::string tcp_connect(const std::string& host, int port, std::chrono::milliseconds timeout,
                        Socket& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &raw); rc != 0) {
    return fmt::format("cannot resolve {}: {}", host, gai_strerror(rc));
  }
  const std::unique_ptr<addrinfo, AddrInfoFree> list(raw);
  std::string error = "no address";
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    Socket s(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (s.get() < 0) {
      error = std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(s.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd pfd{s.get(), POLLOUT, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
        socklen_t len = sizeof err;
        if (ready == 0) {
          err = ETIMEDOUT;
        } else if (ready < 0 || getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
      }
    }
    if (err != 0) {
      error = err == ETIMEDOUT ? fmt::format("no answer within {} ms", timeout.count())
                               : std::string(std::strerror(err));
      continue;
    }
    ::fcntl(s.get(), F_SETFL, ::fcntl(s.get(), F_GETFL) & ~O_NONBLOCK);
    set_timeouts(s.get(), timeout);
    out = std::move(s);
    return {};
  }
  return error;
}

std::string tls_handshake(int fd, const std::string& host, const config::TlsConfig& tls,
                          std::chrono::milliseconds timeout) {
  ERR_clear_error();
  const std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return "TLS: cannot create a context: " + openssl_reason();
  if (!tls.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(), nullptr) != 1) {
      return fmt::format("TLS: cannot load CA file {}: {}", tls.ca_file, openssl_reason());
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx.get());
  }
  if (!tls.cert_file.empty() &&
      SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
    return fmt::format("TLS: cannot load client certificate {}: {}", tls.cert_file,
                       openssl_reason());
  }
  if (!tls.key_file.empty() &&
      SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fmt::format("TLS: cannot load client key {}: {}", tls.key_file, openssl_reason());
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (!ssl) return "TLS: cannot create a session: " + openssl_reason();
  const bool ip = is_ip_address(host);
  if (!ip) SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  if (tls.verify_hostname) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
  }
  SSL_set_fd(ssl.get(), fd);
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    if (verify != X509_V_OK) {
      ERR_clear_error();
      return fmt::format("TLS handshake failed: certificate verify failed: {}",
                         X509_verify_cert_error_string(verify));
    }
    std::string reason = openssl_reason();
    if (reason.empty()) reason = "the broker closed the connection during the TLS handshake";
    return "TLS handshake failed: " + reason;
  }
  // With TLS 1.3 the broker checks our certificate after the client finished
  // its handshake; a rejection arrives as an alert on the first read. A
  // healthy broker sends nothing before CONNECT, so the read times out.
  set_timeouts(fd, std::min(timeout, std::chrono::milliseconds(500)));
  char byte = 0;
  if (SSL_peek(ssl.get(), &byte, 1) <= 0) {
    const std::string reason = openssl_reason();
    if (!reason.empty()) return "TLS: the broker rejected the connection: " + reason;
  }
  SSL_shutdown(ssl.get());
  return {};
}

}  // namespace

std::string probe_connection(const std::string& host, int port, const config::TlsConfig* tls,
                             std::chrono::milliseconds timeout) {
  Socket socket;
  if (std::string error = tcp_connect(host, port, timeout, socket); !error.empty()) return error;
  if (tls == nullptr) return {};
  return tls_handshake(socket.get(), host, *tls, timeout);
}

}  // namespace fieldgate::bridge::detail

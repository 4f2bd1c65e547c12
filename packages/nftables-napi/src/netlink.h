// The netlink plumbing counter.cc and dump.cc share: a NETLINK_NETFILTER socket, an nf_tables
// request with attributes, and sending it. Header-only (two small files use it).
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace nl {

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { if (fd >= 0) close(fd); }
};

// A NETLINK_NETFILTER socket with a 1 s receive timeout; fd < 0 on failure (errno set).
inline Fd Open() {
  Fd s{socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER)};
  if (s.fd >= 0) {
    struct timeval tv = {1, 0};
    setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  return s;
}

// An nf_tables request for family inet: the netlink and nfgenmsg headers, attributes follow.
inline std::vector<char> Request() {
  std::vector<char> msg(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)), 0);
  struct nfgenmsg gen = {};
  gen.nfgen_family = NFPROTO_INET;
  gen.version = NFNETLINK_V0;
  std::memcpy(msg.data() + NLMSG_HDRLEN, &gen, sizeof gen);
  return msg;
}

inline void PutAttr(std::vector<char>& msg, uint16_t type, const void* data, size_t len) {
  struct nlattr a;
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  a.nla_type = type;
  size_t at = msg.size();
  msg.resize(at + NLA_ALIGN(a.nla_len), 0);
  std::memcpy(msg.data() + at, &a, sizeof a);
  std::memcpy(msg.data() + at + NLA_HDRLEN, data, len);
}

inline void PutString(std::vector<char>& msg, uint16_t type, const std::string& s) {
  PutAttr(msg, type, s.c_str(), s.size() + 1);
}

// Fills in the netlink header (nf_tables message `type`, `flags`) and sends; false on failure (errno set).
inline bool Send(int fd, std::vector<char>& msg, uint16_t type, uint16_t flags) {
  struct nlmsghdr h = {};
  h.nlmsg_len = static_cast<uint32_t>(msg.size());
  h.nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
  h.nlmsg_flags = flags;
  h.nlmsg_seq = 1;
  std::memcpy(msg.data(), &h, sizeof h);
  struct sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  return sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel) >= 0;
}

}  // namespace nl

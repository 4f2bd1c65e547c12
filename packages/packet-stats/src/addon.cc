// packet-stats: read(fd) returns the kernel's PACKET_STATISTICS for an AF_PACKET socket (libpcap's
// capture socket): packets received and packets dropped because the ring was full. The kernel
// resets the counters on every read, so each call returns what happened since the last one. The
// `cap` binding does not expose pcap_stats(); this is how the capture process learns its losses.

#define NAPI_CPP_EXCEPTIONS
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace {

Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "read(fd: number)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  // tpacket_stats_v3 starts with the same two fields as tpacket_stats (TPACKET_V1/V2 rings).
  struct tpacket_stats_v3 st;
  std::memset(&st, 0, sizeof st);
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
    Napi::Error e = Napi::Error::New(env, std::string("getsockopt(PACKET_STATISTICS): ") + std::strerror(errno));
    e.Set("code", Napi::String::New(env, errno == EBADF ? "EBADF" : errno == ENOPROTOOPT ? "ENOPROTOOPT" : "EIO"));
    throw e;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("packets", Napi::Number::New(env, st.tp_packets));
  out.Set("drops", Napi::Number::New(env, st.tp_drops));
  return out;
}

// cap prints a warning on stderr (pcap_lookupnet fails) when it opens a device without an
// address, such as nflog:GROUP. The daemon opens NFLOG with stderr pointed at /dev/null for that
// one synchronous call: quiet() returns the saved descriptor, restore(saved) puts it back.
Napi::Value Quiet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int saved = dup(2);
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved < 0 || null < 0 || dup2(null, 2) < 0) {
    if (saved >= 0) close(saved);
    if (null >= 0) close(null);
    throw Napi::Error::New(env, std::string("quiet stderr: ") + std::strerror(errno));
  }
  close(null);
  return Napi::Number::New(env, saved);
}

Napi::Value Restore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "restore(fd: number)");
  int saved = info[0].As<Napi::Number>().Int32Value();
  int rc = dup2(saved, 2);
  close(saved);
  if (rc < 0) throw Napi::Error::New(env, std::string("restore stderr: ") + std::strerror(errno));
  return env.Undefined();
}

// tuneNetlink(fd, bytes): libpcap's NFLOG socket as a daemon under a flood needs it. Without
// NETLINK_NO_ENOBUFS a full receive buffer raises an error on the socket, and cap, seeing the poll
// report it, aborts the process; with it the kernel drops and counts (/proc/net/netlink: Drops).
// SO_RCVBUFFORCE (root) sets a buffer past net.core.rmem_max (208 KiB: ~700 NFLOG messages).
Napi::Value TuneNetlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "tuneNetlink(fd: number, bytes: number)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int bytes = info[1].As<Napi::Number>().Int32Value();
  int one = 1;
  if (setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one) != 0) {
    throw Napi::Error::New(env, std::string("setsockopt(NETLINK_NO_ENOBUFS): ") + std::strerror(errno));
  }
  if (bytes > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);  // not root: as much as allowed
  }
  return env.Undefined();
}

// batchNflog(fd, group, timeoutCs, bufferBytes): the NFLOG instance libpcap bound on fd flushes
// queued messages after timeoutCs hundredths of a second (the kernel's default is a whole second)
// and packs up to bufferBytes of them into one netlink message. Rules with a queue-threshold above
// 1 then cost one recv() per batch instead of one per packet, while a lone packet waits at most
// timeoutCs. Only the socket that bound the group may configure it, so this goes through
// libpcap's own socket; the kernel's acknowledgement is read here, before cap polls the socket
// (called at start-up, before Sesame's table sends anything to the group; anything else read
// meanwhile is dropped).
Napi::Value BatchNflog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    throw Napi::TypeError::New(env, "batchNflog(fd: number, group: number, timeoutCs: number, bufferBytes: number)");
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint32_t group = info[1].As<Napi::Number>().Uint32Value();
  uint32_t timeout = info[2].As<Napi::Number>().Uint32Value();
  uint32_t bufsize = info[3].As<Napi::Number>().Uint32Value();
  if (group > 65535) throw Napi::RangeError::New(env, "batchNflog: group out of range");

  struct {
    struct nlmsghdr nh;
    struct nfgenmsg nf;
    struct nlattr timeoutAttr;
    uint32_t timeoutValue;
    struct nlattr bufAttr;
    uint32_t bufValue;
  } req;
  std::memset(&req, 0, sizeof req);
  static uint32_t seq = 0x5e5a0000;
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nh.nlmsg_seq = ++seq;
  req.nf.nfgen_family = AF_UNSPEC;
  req.nf.version = NFNETLINK_V0;
  req.nf.res_id = htons(static_cast<uint16_t>(group));
  req.timeoutAttr.nla_len = sizeof req.timeoutAttr + sizeof req.timeoutValue;
  req.timeoutAttr.nla_type = NFULA_CFG_TIMEOUT;
  req.timeoutValue = htonl(timeout);
  req.bufAttr.nla_len = sizeof req.bufAttr + sizeof req.bufValue;
  req.bufAttr.nla_type = NFULA_CFG_NLBUFSIZ;
  req.bufValue = htonl(bufsize);

  struct sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, &req, sizeof req, 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel) != static_cast<ssize_t>(sizeof req)) {
    throw Napi::Error::New(env, std::string("batchNflog: send: ") + std::strerror(errno));
  }
  std::vector<char> buf(1 << 17);
  for (int tries = 0; tries < 64; tries++) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) throw Napi::Error::New(env, "batchNflog: no answer from the kernel");
    ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      throw Napi::Error::New(env, std::string("batchNflog: recv: ") + std::strerror(errno));
    }
    int left = static_cast<int>(n);
    for (struct nlmsghdr* nh = reinterpret_cast<struct nlmsghdr*>(buf.data()); NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
      if (nh->nlmsg_type != NLMSG_ERROR || nh->nlmsg_seq != req.nh.nlmsg_seq) continue;
      const struct nlmsgerr* err = static_cast<const struct nlmsgerr*>(NLMSG_DATA(nh));
      if (err->error != 0) throw Napi::Error::New(env, std::string("batchNflog: ") + std::strerror(-err->error));
      return env.Undefined();
    }
  }
  throw Napi::Error::New(env, "batchNflog: no acknowledgement from the kernel");
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("quietStderr", Napi::Function::New(env, Quiet));
  exports.Set("tuneNetlink", Napi::Function::New(env, TuneNetlink));
  exports.Set("batchNflog", Napi::Function::New(env, BatchNflog));
  exports.Set("restoreStderr", Napi::Function::New(env, Restore));
  return exports;
}

}  // namespace

NODE_API_MODULE(packet_stats, Init)

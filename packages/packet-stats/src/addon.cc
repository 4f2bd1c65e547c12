// packet-stats: read(fd) returns the kernel's PACKET_STATISTICS for an AF_PACKET socket (libpcap's
// capture socket): packets received and packets dropped because the ring was full. The kernel
// resets the counters on every read, so each call returns what happened since the last one. The
// `cap` binding does not expose pcap_stats(); this is how the capture process learns its losses.

#define NAPI_CPP_EXCEPTIONS
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("quietStderr", Napi::Function::New(env, Quiet));
  exports.Set("tuneNetlink", Napi::Function::New(env, TuneNetlink));
  exports.Set("restoreStderr", Napi::Function::New(env, Restore));
  return exports;
}

}  // namespace

NODE_API_MODULE(packet_stats, Init)

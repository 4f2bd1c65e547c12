// dump(kind, table[, set]): one inet table's objects as the kernel sends them, asked directly over a
// NETLINK_NETFILTER socket (NFT_MSG_GET* with NLM_F_DUMP). Each message's attributes come back
// raw (a Buffer per message, after the nfgenmsg header); the caller parses them. libnftables
// fetches every set element of every table before any listing (0.6 s and hundreds of MB with a
// flooded knock set, even with --terse): a watchdog that reads the table every second asks for
// exactly what it compares instead.
//
//   kind: "tables" (every inet table; `table` ignored) | "table" | "chains" | "sets" | "objects" | "rules" | "elements" (needs `set`)
//   returns Buffer[], or null when the table (or set) does not exist (ENOENT).

#define NAPI_CPP_EXCEPTIONS
#include <napi.h>

#include "netlink.h"

namespace {

// Bounds: a dump that does not end within these is refused (a table is never this big).
constexpr int kMaxMessages = 1 << 20;
constexpr size_t kMaxBytes = size_t(256) << 20;

}  // namespace

Napi::Value Dump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString() || (info.Length() > 2 && !info[2].IsString())) {
    throw Napi::TypeError::New(env, "dump(kind: string, table: string, set?: string)");
  }
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  std::string table = info[1].As<Napi::String>().Utf8Value();
  std::string set = info.Length() > 2 ? info[2].As<Napi::String>().Utf8Value() : "";
  if (kind == "tables") table = "-";  // every inet table: no name asked
  if (table.empty() || table.size() > 255 || set.size() > 255) throw Napi::TypeError::New(env, "dump: bad table or set name");

  // What each kind asks: the message, and the attribute naming the table (0: none, every table).
  struct Kind { const char* name; uint16_t type; uint16_t tableAttr; bool single; };
  static const Kind kinds[] = {
      {"tables", NFT_MSG_GETTABLE, 0, false},
      {"table", NFT_MSG_GETTABLE, NFTA_TABLE_NAME, true},  // one table: a get and its ack
      {"chains", NFT_MSG_GETCHAIN, NFTA_CHAIN_TABLE, false},
      {"sets", NFT_MSG_GETSET, NFTA_SET_TABLE, false},
      {"objects", NFT_MSG_GETOBJ, NFTA_OBJ_TABLE, false},
      {"rules", NFT_MSG_GETRULE, NFTA_RULE_TABLE, false},
      {"elements", NFT_MSG_GETSETELEM, NFTA_SET_ELEM_LIST_TABLE, false},
  };
  const Kind* k = nullptr;
  for (const Kind& c : kinds) if (kind == c.name) k = &c;
  if (k == nullptr) throw Napi::TypeError::New(env, "dump: unknown kind");
  const uint16_t type = k->type;
  const uint16_t flags = k->single ? NLM_F_REQUEST | NLM_F_ACK : NLM_F_REQUEST | NLM_F_DUMP;
  std::vector<char> msg = nl::Request();
  if (k->tableAttr != 0) nl::PutString(msg, k->tableAttr, table);
  if (k->type == NFT_MSG_GETSETELEM) {
    if (set.empty()) throw Napi::TypeError::New(env, "dump: elements need a set name");
    nl::PutString(msg, NFTA_SET_ELEM_LIST_SET, set);
  }

  // A dump the ruleset changed under (NLM_F_DUMP_INTR) is asked again: a half-old, half-new
  // answer would look like a difference.
  for (int attempt = 0; attempt < 3; attempt++) {
    nl::Fd s = nl::Open();
    if (s.fd < 0) throw Napi::Error::New(env, std::string("dump: socket: ") + std::strerror(errno));
    std::vector<char> req = msg;
    if (!nl::Send(s.fd, req, type, flags)) throw Napi::Error::New(env, std::string("dump: send: ") + std::strerror(errno));
    std::vector<std::string> parts;
    bool interrupted = false, done = false, missing = false;
    size_t total = 0;
    std::vector<char> buf(size_t(1) << 18);
    const size_t head = NLMSG_ALIGN(sizeof(struct nfgenmsg));
    for (int messages = 0; !done && messages < kMaxMessages && total < kMaxBytes;) {
      ssize_t n = recv(s.fd, buf.data(), buf.size(), MSG_TRUNC);
      if (n < 0) throw Napi::Error::New(env, std::string("dump: recv: ") + std::strerror(errno));
      if (static_cast<size_t>(n) > buf.size()) throw Napi::Error::New(env, "dump: message larger than the receive buffer");
      total += static_cast<size_t>(n);
      int left = static_cast<int>(n);
      for (auto* nh = reinterpret_cast<struct nlmsghdr*>(buf.data()); !done && NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
        messages++;
        if (nh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
        if (nh->nlmsg_type == NLMSG_DONE) { done = true; break; }
        if (nh->nlmsg_type == NLMSG_ERROR) {
          auto* e = static_cast<struct nlmsgerr*>(NLMSG_DATA(nh));
          if (e->error == 0) { done = true; break; }  // the ack of a single get
          if (e->error == -ENOENT) { missing = true; done = true; break; }
          throw Napi::Error::New(env, std::string("dump: ") + std::strerror(-e->error));
        }
        if ((nh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES || nh->nlmsg_len < NLMSG_HDRLEN + head) continue;
        const char* p = static_cast<const char*>(NLMSG_DATA(nh)) + head;
        parts.emplace_back(p, nh->nlmsg_len - NLMSG_HDRLEN - head);
      }
    }
    if (!done) throw Napi::Error::New(env, "dump: no end of dump within bounds");
    if (interrupted) continue;
    if (missing) return env.Null();
    Napi::Array out = Napi::Array::New(env, parts.size());
    for (uint32_t i = 0; i < parts.size(); i++) out.Set(i, Napi::Buffer<char>::Copy(env, parts[i].data(), parts[i].size()));
    return out;
  }
  throw Napi::Error::New(env, "dump: interrupted three times by ruleset changes");
}

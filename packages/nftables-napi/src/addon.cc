// nftables-napi: a small libnftables binding.
//
// NftContext owns one nft_ctx (NFT_CTX_DEFAULT, output and error buffered). run(text, json)
// returns a Promise and does the work in an AsyncWorker on the libuv thread pool, so the event
// loop never waits for netlink. A context is never used by two threads at once: every use of
// any nft_ctx (create, run, free) holds one process-wide mutex, which also covers whatever state
// libnftables keeps outside a context. index.js queues the calls of one context in JavaScript as
// well, so waiting calls do not each hold a pool thread.
//
// JSON: libnftables 1.0.6 parses its input as JSON only when JSON output is on, so a JSON run
// sets NFT_CTX_OUTPUT_JSON for that call (both input and output are then JSON).

#define NAPI_CPP_EXCEPTIONS
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>

#include <nftables/libnftables.h>

Napi::Value ReadCounter(const Napi::CallbackInfo& info);  // counter.cc
Napi::Value Dump(const Napi::CallbackInfo& info);         // dump.cc

namespace {

std::mutex& NftMutex() {
  static std::mutex m;
  return m;
}

// The nft_ctx and its lifetime. Shared by the JS object and by every worker in flight, so a
// context collected (or closed) while a command runs is freed only when that command is done.
class Ctx {
 public:
  Ctx() {
    std::lock_guard<std::mutex> lock(NftMutex());
    ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
    if (ctx_ == nullptr) return;
    if (nft_ctx_buffer_output(ctx_) != 0 || nft_ctx_buffer_error(ctx_) != 0) {
      nft_ctx_free(ctx_);
      ctx_ = nullptr;
    }
  }
  ~Ctx() {
    std::lock_guard<std::mutex> lock(NftMutex());
    if (ctx_ != nullptr) nft_ctx_free(ctx_);
  }
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;

  bool ok() const { return ctx_ != nullptr; }

  // Runs one command buffer; called with no JS involvement (worker thread).
  int Run(const std::string& text, bool json, std::string* out, std::string* err) {
    std::lock_guard<std::mutex> lock(NftMutex());
    unsigned int flags = nft_ctx_output_get_flags(ctx_);
    if (json) flags |= NFT_CTX_OUTPUT_JSON;
    else flags &= ~static_cast<unsigned int>(NFT_CTX_OUTPUT_JSON);
    nft_ctx_output_set_flags(ctx_, flags);
    int rc = nft_run_cmd_from_buffer(ctx_, text.c_str());
    // Reading a buffer also empties it for the next command.
    const char* o = nft_ctx_get_output_buffer(ctx_);
    const char* e = nft_ctx_get_error_buffer(ctx_);
    out->assign(o != nullptr ? o : "");
    err->assign(e != nullptr ? e : "");
    return rc;
  }

 private:
  struct nft_ctx* ctx_ = nullptr;
};

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<Ctx> ctx, std::string text, bool json)
      : Napi::AsyncWorker(env, "nftables-napi:run"),
        deferred_(Napi::Promise::Deferred::New(env)),
        ctx_(std::move(ctx)),
        text_(std::move(text)),
        json_(json) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { rc_ = ctx_->Run(text_, json_, &out_, &err_); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("ok", Napi::Boolean::New(env, rc_ == 0));
    result.Set("output", Napi::String::New(env, out_));
    result.Set("error", Napi::String::New(env, err_));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Ctx> ctx_;
  std::string text_;
  bool json_;
  int rc_ = -1;
  std::string out_;
  std::string err_;
};

class NftContext : public Napi::ObjectWrap<NftContext> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NftContext",
                       {InstanceMethod<&NftContext::Run>("run"),
                        InstanceMethod<&NftContext::Close>("close")});
  }

  explicit NftContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NftContext>(info) {
    auto ctx = std::make_shared<Ctx>();
    if (!ctx->ok()) {
      throw Napi::Error::New(info.Env(), "nftables-napi: nft_ctx_new failed");
    }
    ctx_ = std::move(ctx);
  }

 private:
  // run(text: string, json?: boolean): Promise<{ok, output, error}>
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      throw Napi::TypeError::New(env, "run: text must be a string");
    }
    if (!ctx_) throw Napi::Error::New(env, "run: context is closed");
    std::string text = info[0].As<Napi::String>().Utf8Value();
    if (text.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, "run: text must not contain NUL");
    }
    bool json = info.Length() > 1 && info[1].ToBoolean().Value();
    auto* worker = new RunWorker(env, ctx_, std::move(text), json);
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  }

  // close(): frees the context once commands in flight are done; later runs throw.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    ctx_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<Ctx> ctx_;
};

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("NftContext", NftContext::Init(env));
  exports.Set("readCounter", Napi::Function::New(env, ReadCounter));
  exports.Set("dump", Napi::Function::New(env, Dump));
  return exports;
}

}  // namespace

NODE_API_MODULE(nftables_napi, InitModule)

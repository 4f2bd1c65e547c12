{
  "targets": [
    {
      "target_name": "nftables_napi",
      "sources": ["src/addon.cc", "src/counter.cc", "src/dump.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lnftables"]
    }
  ]
}

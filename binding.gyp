{
  "targets": [
    {
      "target_name": "wirekit_icmp",
      "sources": ["native/icmp_socket.cc", "native/udp_socket.cc", "native/send_file.cc", "native/hmac_sha256.cc", "native/metrics_text.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-cast-function-type"]
    }
  ]
}

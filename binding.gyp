{
  # The addon compiles against OpenSSL 1.0.2's headers ONLY and links its static
  # libraries with hidden symbols, so it never binds to the OpenSSL 3 inside Node.
  'variables': {
    # builds OpenSSL 1.0.2 if the cache does not have it yet, then prints its prefix
    'openssl_prefix': '<!(node deps/build-openssl.js --prefix)',
    'napi_include': '<!(node -p "require(\'node-api-headers\').include_dir")',
    'addon_api_include': '<!(node -p "require(\'node-addon-api\').include_dir")',
  },
  'targets': [
    {
      'target_name': 'openssl_session_cache',
      'sources': [
        'native/addon.cc',
        'native/openssl_runtime.cc',
        'native/openssl_memory.cc',
        'native/openssl_error.cc',
        'native/arguments.cc',
        'native/binding_constants.cc',
        'native/ssl_context_handle.cc',
        'native/ssl_context_config.cc',
        'native/ssl_context_callbacks.cc',
        'native/ssl_context_tickets.cc',
        'native/ticket_keys.cc',
        'native/session_event_queue.cc',
        'native/ssl_session_handle.cc',
        'native/session_identity.cc',
        'native/cipher_table.cc',
        'native/handshake.cc',
        'native/offered_session.cc',
        'native/session_codec.cc',
        'native/pem_password.cc',
        'native/tls_connection.cc',
        'native/tls_connection_features.cc',
        'native/native_listener.cc',
        'native/native_listener_store.cc',
        'native/native_listener_queries.cc',
        'native/ssl_queries.cc',
        'native/native_listener_net.cc',
        'native/native_listener_h2.cc',
        'native/native_listener_pipe.cc',
        'native/native_listener_hello.cc',
        'native/native_listener_tickets.cc',
        'native/x509_generator.cc',
        'native/openssl_clock.cc',
        'native/openssl_clock_time.c',
      ],
      # Node's include directory carries OpenSSL 3 headers: drop all of node-gyp's
      # defaults and use node-api-headers (C Node-API only) instead.
      'include_dirs!': [
        '<(node_root_dir)/include/node',
        '<(node_root_dir)/src',
        '<(node_root_dir)/deps/openssl/config',
        '<(node_root_dir)/deps/openssl/openssl/include',
        '<(node_root_dir)/deps/uv/include',
        '<(node_root_dir)/deps/zlib',
        '<(node_root_dir)/<(node_engine_include_dir)',
      ],
      'include_dirs': [
        '<(openssl_prefix)/include',
        '<(napi_include)',
        '<(addon_api_include)',
        # libuv's headers (native/native_listener.cc): Node's include directory, searched
        # last, so <openssl/...> still resolves to 1.0.2 above (addon.cc's #error checks);
        # spelt with '/.' so that the include_dirs! list above does not drop it
        '<(node_root_dir)/include/node/.',
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NAPI_DISABLE_CPP_EXCEPTIONS',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
        # a worker being terminated makes Node-API calls fail with nothing to throw;
        # without C++ exceptions node-addon-api would abort the process
        'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
      ],
      'cflags': ['-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-deprecated-declarations'],
      'cflags_cc': ['-fvisibility=hidden', '-fvisibility-inlines-hidden'],
      'libraries': [
        '<(openssl_prefix)/lib/libssl.a',
        '<(openssl_prefix)/lib/libcrypto.a',
        '-ldl',
        '-lpthread',
      ],
      'ldflags': ['-Wl,--exclude-libs,ALL', '-Wl,-Bsymbolic'],
    },
  ],
}

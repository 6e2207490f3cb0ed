/* B0: the N-API call floor — an empty function and an empty method on a wrapped object.
 * Built by bench/run.js with cc (undefined napi_* symbols resolve against node at load). */
#include <node_api.h>

static napi_value Empty(napi_env env, napi_callback_info info) { return NULL; }

static napi_value Method(napi_env env, napi_callback_info info) {
  napi_value self;
  void *p;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  napi_unwrap(env, self, &p); /* what every wrapped-object method pays */
  return NULL;
}

static napi_value Ctor(napi_env env, napi_callback_info info) {
  napi_value self;
  static int dummy;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  napi_wrap(env, self, &dummy, NULL, NULL, NULL);
  return self;
}

NAPI_MODULE_INIT() {
  napi_value fn, cls;
  napi_property_descriptor m = {"method", NULL, Method, NULL, NULL, NULL, napi_default, NULL};
  napi_create_function(env, "empty", NAPI_AUTO_LENGTH, Empty, NULL, &fn);
  napi_set_named_property(env, exports, "empty", fn);
  napi_define_class(env, "Wrapped", NAPI_AUTO_LENGTH, Ctor, NULL, 1, &m, &cls);
  napi_set_named_property(env, exports, "Wrapped", cls);
  return exports;
}

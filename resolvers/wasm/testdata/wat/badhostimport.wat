;; Load error: imports an authplug function that does not exist.
(module
  (import "authplug" "http_get" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (func (export "authplug_resolve") (param i32) (result i32) (i32.const 1)))

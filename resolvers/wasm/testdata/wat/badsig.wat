;; Load error: authplug_resolve takes an i64.
(module
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (func (export "authplug_resolve") (param i64) (result i32) (i32.const 1)))

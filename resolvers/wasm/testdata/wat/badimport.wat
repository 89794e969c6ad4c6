;; Load error: imports a function the host does not offer.
(module
  (import "env" "system" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (func (export "authplug_resolve") (param i32) (result i32) (i32.const 1)))

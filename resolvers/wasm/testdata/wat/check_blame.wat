;; Its options check fails with a message that names another module: the
;; host must prefix the error with this module's key.
(module
  (import "authplug" "output_write" (func $out (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (data (i32.const 1024) "{\"name\":\"InputError\",\"message\":\"gatehouse.modules.other: option x is wrong\"}")
  (func (export "authplug_check") (param $n i32) (result i32)
    (call $out (i32.const 1024) (i32.const 76))
    (i32.const 2))
  (func (export "authplug_resolve") (param $n i32) (result i32) (i32.const 1)))

;; Hostile: its options check fails with an error answer that has message twice; the host must refuse it, not pick one.
(module
  (import "authplug" "output_write" (func $out (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (data (i32.const 1024) "{\"name\":\"Error\",\"message\":\"fine\",\"message\":\"blame gatehouse.modules.other\"}")
  (func (export "authplug_check") (param $n i32) (result i32)
    (call $out (i32.const 1024) (i32.const 75))
    (i32.const 2))
  (func (export "authplug_resolve") (param $n i32) (result i32) (i32.const 1)))

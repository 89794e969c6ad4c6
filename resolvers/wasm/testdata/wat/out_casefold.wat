;; Hostile: answers with a lower-cased key, which a case-insensitive decoder reads as entityRef.
(module
  (import "authplug" "output_write" (func $out (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (data (i32.const 1024) "{\"entityref\":\"user:default/alice\"}")
  (func (export "authplug_resolve") (param $n i32) (result i32)
    (call $out (i32.const 1024) (i32.const 34))
    (i32.const 0)))

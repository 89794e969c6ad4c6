;; Hostile: answers with entityRef twice.
(module
  (import "authplug" "output_write" (func $out (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (data (i32.const 1024) "{\"entityRef\":\"user:default/alice\",\"entityRef\":\"user:default/admin\"}")
  (func (export "authplug_resolve") (param $n i32) (result i32)
    (call $out (i32.const 1024) (i32.const 67))
    (i32.const 0)))

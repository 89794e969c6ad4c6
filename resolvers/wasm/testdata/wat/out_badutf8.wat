;; Hostile: answers with an entityRef that is not valid UTF-8 (a lenient decoder puts U+FFFD in it).
(module
  (import "authplug" "output_write" (func $out (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (data (i32.const 1024) "{\"entityRef\":\"user:default/al\ffice\"}")
  (func (export "authplug_resolve") (param $n i32) (result i32)
    (call $out (i32.const 1024) (i32.const 35))
    (i32.const 0)))

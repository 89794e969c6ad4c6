;; Hostile: recurses without end (an innocent recursion bug). Each frame is
;; small, so the call stack grows until the host's limit stops it.
(module
  (import "authplug" "input_read" (func $in (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (func $r (param $d i32) (result i32)
    (i32.add (call $r (i32.add (local.get $d) (i32.const 1))) (i32.const 1)))
  (func (export "authplug_resolve") (param $n i32) (result i32)
    (call $r (i32.const 0))))

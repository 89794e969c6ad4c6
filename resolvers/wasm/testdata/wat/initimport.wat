;; Hostile: its _initialize calls a host function, which is only available
;; during a call; instantiating must fail saying so.
(module
  (import "authplug" "input_read" (func $in (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (func (export "_initialize")
    (drop (call $in (i32.const 0) (i32.const 0))))
  (func (export "authplug_resolve") (param $n i32) (result i32) (i32.const 1)))

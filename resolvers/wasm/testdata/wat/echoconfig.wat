;; Reads its config with config_read, logs it, and returns it as an error
;; payload (status error): exercises config_read, log and error names.
(module
  (import "authplug" "output_write" (func $out (param i32 i32)))
  (import "authplug" "config_read" (func $config (param i32 i32) (result i32)))
  (import "authplug" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (func (export "authplug_resolve") (param $n i32) (result i32)
    (local $len i32)
    ;; First ask with a zero-capacity buffer to learn the length.
    (local.set $len (call $config (i32.const 1024) (i32.const 0)))
    (drop (call $config (i32.const 1024) (local.get $len)))
    (call $log (i32.const 1) (i32.const 1024) (local.get $len))
    (call $out (i32.const 1024) (local.get $len))
    (i32.const 2)))

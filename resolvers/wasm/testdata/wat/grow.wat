;; Hostile: grows memory past any sane limit; traps when refused.
(module
  (import "authplug" "output_write" (func $out (param i32 i32)))
  (import "authplug" "input_read" (func $in (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "authplug_abi_v1"))
  (func (export "authplug_resolve") (param $n i32) (result i32)
    (loop $l
      (if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then unreachable))
      (br $l))
    (i32.const 0)))

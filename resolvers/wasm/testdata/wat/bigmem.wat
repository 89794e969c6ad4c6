;; Hostile: asks for 1000 pages up front (load error under a lower limit).
(module
  (memory (export "memory") 1000)
  (func (export "authplug_abi_v1"))
  (func (export "authplug_resolve") (param i32) (result i32) (i32.const 1)))

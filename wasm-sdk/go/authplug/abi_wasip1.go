//go:build wasip1

package authplug

import "unsafe"

//go:wasmimport authplug input_read
func inputRead(buf unsafe.Pointer, capacity uint32) uint32

//go:wasmimport authplug output_write
func outputWrite(ptr unsafe.Pointer, n uint32)

//go:wasmimport authplug log
func logWrite(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport authplug catalog_find
func catalogFind(q unsafe.Pointer, qn uint32, out unsafe.Pointer, outCap uint32) int64

//go:wasmexport authplug_abi_v1
func abiV1() {}

//go:wasmexport authplug_resolve
func exportResolve(inputLen uint32) uint32 { return call("resolve", inputLen) }

//go:wasmexport authplug_transform
func exportTransform(inputLen uint32) uint32 { return call("transform", inputLen) }

//go:wasmexport authplug_check
func exportCheck(inputLen uint32) uint32 { return call("check", inputLen) }

func call(export string, n uint32) uint32 {
	in := make([]byte, n+1) // +1: a valid pointer even when n == 0
	inputRead(unsafe.Pointer(&in[0]), n)
	status, out := dispatch(export, in[:n])
	if len(out) > 0 {
		outputWrite(unsafe.Pointer(&out[0]), uint32(len(out)))
	}
	return status
}

func hostLog(level int, msg string) {
	if msg == "" {
		return
	}
	b := []byte(msg)
	logWrite(int32(level), unsafe.Pointer(&b[0]), uint32(len(b)))
}

func hostCatalogFind(q []byte) ([]byte, int64) {
	buf := make([]byte, 4096)
	for range 2 {
		n := catalogFind(unsafe.Pointer(&q[0]), uint32(len(q)), unsafe.Pointer(&buf[0]), uint32(len(buf)))
		if n < 0 {
			return nil, n
		}
		if int(n) <= len(buf) {
			return buf[:n], n
		}
		// Too small: the host keeps the answer for a retry of the same query.
		buf = make([]byte, n)
	}
	return nil, -3
}

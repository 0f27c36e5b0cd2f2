package snapshot

import (
	"reflect"
	"sync"
)

// The loader charges what it decodes against the size limit twice: the
// input's bytes, and an estimate of the memory the decoded values take.
// The second counts because small JSON can decode large: "{}" is an fd of
// 104 bytes, "1," a tid of 8, and a stream of tiny processes takes five
// times its length in memory. Neither count may pass LoadOptions.MaxBytes,
// so a refused input costs at most about that much memory, whatever its
// shape.

// mapEntryOverhead is charged per map entry beyond its key and value.
const mapEntryOverhead = 16

// indirect lists, per type, what of a value lies outside its own bytes:
// the indices of the struct fields that hold or lead to such memory, or
// for other kinds whether there is any.
type indirect struct {
	any    bool
	fields []int
}

var indirectOf sync.Map // reflect.Type -> *indirect

func indirectInfo(t reflect.Type) *indirect {
	if v, ok := indirectOf.Load(t); ok {
		return v.(*indirect)
	}
	info := &indirect{}
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
		info.any = true
	case reflect.Array:
		info.any = indirectInfo(t.Elem()).any
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if indirectInfo(t.Field(i).Type).any {
				info.fields = append(info.fields, i)
			}
		}
		info.any = len(info.fields) > 0
	}
	indirectOf.Store(t, info)
	return info
}

// indirectSize estimates the memory v reaches beyond its own bytes:
// string contents, slice and map storage, what pointers point to. Shared
// memory is counted once per reference, which only overestimates.
func indirectSize(v reflect.Value) int64 {
	info := indirectInfo(v.Type())
	if !info.any {
		return 0
	}
	switch v.Kind() {
	case reflect.String:
		return int64(v.Len())
	case reflect.Slice:
		elem := v.Type().Elem()
		n := int64(v.Cap()) * int64(elem.Size())
		if indirectInfo(elem).any {
			for i := 0; i < v.Len(); i++ {
				n += indirectSize(v.Index(i))
			}
		}
		return n
	case reflect.Array:
		var n int64
		for i := 0; i < v.Len(); i++ {
			n += indirectSize(v.Index(i))
		}
		return n
	case reflect.Map:
		t := v.Type()
		n := int64(v.Len()) * int64(t.Key().Size()+t.Elem().Size()+mapEntryOverhead)
		if indirectInfo(t.Key()).any || indirectInfo(t.Elem()).any {
			it := v.MapRange()
			for it.Next() {
				n += indirectSize(it.Key()) + indirectSize(it.Value())
			}
		}
		return n
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		return int64(e.Type().Size()) + indirectSize(e)
	case reflect.Struct:
		var n int64
		for _, i := range info.fields {
			n += indirectSize(v.Field(i))
		}
		return n
	}
	return 0
}

// memoryOf estimates the memory one decoded list element takes: its own
// bytes three times (the list's storage doubles as it grows, and the old
// array lives while it is copied) and what it reaches.
func memoryOf[T any](v *T) int64 {
	rv := reflect.ValueOf(v).Elem()
	return 3*int64(rv.Type().Size()) + indirectSize(rv)
}

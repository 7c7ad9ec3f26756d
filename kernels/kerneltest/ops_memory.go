package kerneltest

import (
	"math"
)

// testMemory checks Name, Alloc (zero-filled), Upload/Download round trips,
// Free, and their errors.
func testMemory(e *env) {
	e.run("name", func() {
		if e.b.Name() == "" {
			e.fail("Name is empty")
		}
	})
	for _, shape := range [][]int{{1}, {7}, {3, 5}, {2, 3, 4, 5}, {3, 5, 67, 101}} {
		e.run(shapeLabel(shape), func() {
			t := e.alloc(shape...)
			if !t.Shape.Equal(shape) {
				e.fail("Alloc(%v) returned shape %v", shape, t.Shape)
			}
			for i, v := range e.down(t) {
				if v != 0 {
					e.fail("Alloc is not zero-filled: [%d] = %g", i, v)
					break
				}
			}
			e.count.compared++
			want := e.vals(t.Numel())
			e.upload(t, want)
			got := e.down(t)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					e.fail("Download after Upload: [%d] = %g, want %g", i, got[i], want[i])
					break
				}
			}
			f, err := e.b.Alloc(shape...)
			e.must(err, "Alloc")
			e.b.Free(f)
		})
	}
	e.run("errors", func() {
		t := e.zeros(2, 3)
		e.expectError("Upload of 5 values into (2,3)", func() error { return e.b.Upload(t, make([]float32, 5)) })
		e.expectError("Download of (2,3) into 7 values", func() error { return e.b.Download(make([]float32, 7), t) })
		e.expectError("Upload into nil", func() error { return e.b.Upload(nil, make([]float32, 1)) })
		e.expectError("Download from nil", func() error { return e.b.Download(make([]float32, 1), nil) })
		e.expectError("Alloc(2,-1)", func() error {
			t, err := e.b.Alloc(2, -1)
			if err == nil {
				e.b.Free(t)
			}
			return err
		})
	})
}

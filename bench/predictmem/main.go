// Command predictmem writes the 6000x4000 RGB PNG of bench/RESULTS.md
// section 6 (a gradient with a disc), for measuring the peak memory of
// `suture predict` on a large image.
//
//	go run ./bench/predictmem OUT.png
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

func main() {
	w, h := 6000, 4000
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x / 24), uint8(y / 16), uint8((x + y) / 40), 255}
			if dx, dy := x-3000, y-2000; dx*dx+dy*dy < 1200*1200 {
				c = color.RGBA{220, 170, 140, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	out := "big.png"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	f, err := os.Create(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := png.Encode(f, img); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

package experiment

import (
	"bytes"
	"fmt"
	"io"

	"suture/internal/atomicfile"
	"suture/unet"
)

// WriteTrainLog writes the training log as CSV atomically.
func WriteTrainLog(path string, log []unet.EpochLog) error {
	var b bytes.Buffer
	b.WriteString("epoch,train_loss,val_dice,lr,seconds\n")
	for _, r := range log {
		fmt.Fprintf(&b, "%d,%.6f,%.6f,%.6g,%.3f\n", r.Epoch+1, r.TrainLoss, r.ValDice, r.LR, r.Seconds)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
}

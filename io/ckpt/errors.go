package ckpt

// FormatError reports a checkpoint that cannot be read or written: which file
// (or "stream" for Encode/Decode) and what is wrong with it.
type FormatError struct {
	File   string
	Reason string
	Err    error // underlying cause (I/O, zstd, JSON), or nil
}

func (e *FormatError) Error() string {
	s := "ckpt: " + e.File + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

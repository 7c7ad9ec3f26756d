package segment

import "syscall"

// addressSpaceLimit is the soft RLIMIT_AS; -1 when unlimited (all ones)
// or unreadable.
func addressSpaceLimit() int64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &r); err != nil || r.Cur > 1<<62 {
		return -1
	}
	return int64(r.Cur)
}

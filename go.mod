module suture

go 1.26.0

require (
	golang.org/x/image v0.48.0
	golang.org/x/sync v0.25.0
)

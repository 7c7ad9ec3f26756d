module suture

go 1.26.0

require golang.org/x/sync v0.25.0

require github.com/klauspost/compress v1.20.4

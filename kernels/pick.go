package kernels

// GPUBackend is the backend Pick's "auto" takes when it can start.
const GPUBackend = "cuda"

// Pick makes the backend called name with get (Get, or a registry of
// one's own); names lists those built in. "auto" takes GPUBackend when it
// is built in and starts, else "cpu": gpuErr then says why the GPU
// backend, built in, did not start. A backend named explicitly that cannot
// start is an error: a script asking for the GPU must not get the CPU.
func Pick(name string, get func(string) (Backend, error), names []string) (b Backend, gpuErr, err error) {
	if name != "auto" {
		b, err := get(name)
		return b, nil, err
	}
	for _, n := range names {
		if n != GPUBackend {
			continue
		}
		if b, err = get(GPUBackend); err == nil {
			return b, nil, nil
		}
		gpuErr = err
		break
	}
	b, err = get("cpu")
	return b, gpuErr, err
}

// Package pth reads PyTorch checkpoints (the zip archives that torch.save
// writes since PyTorch 1.6) without Python: the pickle in <prefix>/data.pkl
// and the tensor storages in <prefix>/data/<key>.
//
// A pickle is a program: unpickling runs opcodes, and its GLOBAL and REDUCE
// opcodes can call any importable Python function (torch.load's remote code
// execution flaws, CVE-2025-32434 among them, came from there). This reader
// runs the opcodes itself and materialises only an allow-list of globals
// (the allowed table in pickle.go): the tensor and parameter rebuild
// functions, the typed storage classes, collections.OrderedDict,
// torch.device, the numpy scalar and dtype constructors that nnU-Net's
// training logs hold, _codecs.encode (how protocol 2 spells bytes), and
// builtins.set/frozenset. Any other global is refused with an error naming
// it, before anything is called. Nothing is executed: an allowed global only
// builds an inert Go value.
//
// Memory is bounded by the input: every opcode consumes input bytes, string
// and byte lengths are checked against what is left before allocating, and
// a tensor's storage is read only after its declared size has been checked
// against the archive entry, the entry against the file, and the tensor's
// view against the storage.
//
// Why not github.com/nlpodyssey/gopickle: its torch loader reads every
// storage of the archive into memory whatever the caller needs (an nnU-Net
// checkpoint holds the optimizer's momentum buffers too), and the checks
// above would have to be wrapped around it; the pickle subset a checkpoint
// uses is small enough to run directly.
package pth

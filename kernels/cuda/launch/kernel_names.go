package launch

// Kernel entry points of kernels/cuda/module.cu. The GEMM problems exist in
// three tile configurations, named <problem>_s, _m and _l.
const (
	kFill                 = "fill_f32"
	kAdd                  = "add_f32"
	kScale                = "scale_f32"
	kAxpy                 = "axpy_f32"
	kLeakyReLU            = "leaky_relu_forward"
	kLeakyReLUBackward    = "leaky_relu_backward"
	kBiasAdd              = "bias_add"
	kConcat               = "concat_forward"
	kConcatBackward       = "concat_backward"
	kBNFrozen             = "batch_norm_frozen_forward"
	kBNFrozenBackward     = "batch_norm_frozen_backward_data"
	kMSEBackward          = "mse_backward"
	kSGDNesterov          = "sgd_nesterov"
	kAdamW                = "adamw"
	kGroupSumsPartial     = "group_sums_partial"
	kNormStatsFinalize    = "norm_stats_finalize"
	kBiasGradFinalize     = "bias_grad_finalize"
	kSumPartial           = "sum_partial"
	kSumFinalize          = "sum_finalize"
	kNormApply            = "norm_apply"
	kNormBackwardPartial  = "norm_backward_partial"
	kNormBackwardFinalize = "norm_backward_finalize"
	kNormBackwardApply    = "norm_backward_apply"
	kNormParamGrads       = "norm_param_grads"
	kCheckTargets         = "check_targets"
	kSoftmax              = "softmax_forward"
	kSoftmaxBackward      = "softmax_backward"
	kCrossEntropy         = "cross_entropy_forward"
	kCrossEntropyBackward = "cross_entropy_backward"
	kDicePartial          = "dice_sums_partial"
	kDiceFinalize         = "dice_sums_finalize"
	kDiceBackward         = "dice_sums_backward"
	kSplitKReduce         = "splitk_reduce"
)

// GEMM problems, each launched as problem + "_" + tile suffix.
const (
	gSgemmNN                 = "sgemm_nn"
	gSgemmNT                 = "sgemm_nt"
	gSgemmTN                 = "sgemm_tn"
	gSgemmTT                 = "sgemm_tt"
	gConvForward             = "conv2d_forward"
	gConvBackwardData        = "conv2d_backward_data"
	gConvBackwardFilter      = "conv2d_backward_filter"
	gPointwiseForward        = "conv2d_pointwise_forward"
	gPointwiseBackwardData   = "conv2d_pointwise_backward_data"
	gPointwiseBackwardFilter = "conv2d_pointwise_backward_filter"
	gConvTForward            = "conv_transpose2d_forward"
	gConvTBackwardData       = "conv_transpose2d_backward_data"
	gConvTBackwardFilter     = "conv_transpose2d_backward_filter"
)

var plainKernels = []string{
	kFill, kAdd, kScale, kAxpy, kLeakyReLU, kLeakyReLUBackward, kBiasAdd, kConcat, kConcatBackward,
	kBNFrozen, kBNFrozenBackward, kMSEBackward, kSGDNesterov, kAdamW, kGroupSumsPartial,
	kNormStatsFinalize, kBiasGradFinalize, kSumPartial, kSumFinalize, kNormApply, kNormBackwardPartial,
	kNormBackwardFinalize, kNormBackwardApply, kNormParamGrads, kCheckTargets, kSoftmax,
	kSoftmaxBackward, kCrossEntropy, kCrossEntropyBackward, kDicePartial, kDiceFinalize, kDiceBackward,
	kSplitKReduce,
}

var gemmProblems = []string{
	gSgemmNN, gSgemmNT, gSgemmTN, gSgemmTT, gConvForward, gConvBackwardData, gConvBackwardFilter,
	gPointwiseForward, gPointwiseBackwardData, gPointwiseBackwardFilter, gConvTForward,
	gConvTBackwardData, gConvTBackwardFilter,
}

// KernelNames lists every kernel the launch code may launch; the module must
// define them all (a test checks the PTX and the emulator's table).
func KernelNames() []string {
	names := append([]string(nil), plainKernels...)
	for _, p := range gemmProblems {
		for _, t := range []tileConfig{tileS, tileM, tileL} {
			names = append(names, p+"_"+t.suffix)
		}
	}
	return names
}

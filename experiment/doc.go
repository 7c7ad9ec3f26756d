// Package experiment runs Suture's jobs: it loads datasets and splits them as
// the paper does, trains and evaluates U-Nets, stitches pairs of them,
// evaluates any extracted network with Dice and HD95, and saves and loads
// the checkpoints of both kinds of model. The CLI is a thin layer over it;
// nothing here prints or reads flags (progress goes through callbacks).
package experiment

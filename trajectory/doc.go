// Package trajectory holds hintfleet's data model (Problem, Task, Trajectory,
// Step) and the code that moves it on and off disk: a streaming JSONL reader
// and a crash-safe JSONL writer, and loaders that normalise the common
// benchmark formats (MATH500, AIME, AMC, GSM8K, HumanEval, GPQA,
// LiveCodeBench) into Problems.
//
// Bad input is reported as a *ParseError naming the file, the line and, where
// it is about one field, the field, so that a user can open the file at the
// right place. Readers keep going past a bad line when the caller wants them
// to; nothing already read is lost.
package trajectory

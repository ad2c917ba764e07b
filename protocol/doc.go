// Package protocol is the wire contract between the coordinator and its
// workers: the task message published on TASKS, the result message published
// on RESULTS, their headers, the hint settings a job carries and the job
// states a worker reads. Both sides import it; it imports neither (only hint
// and trajectory), so the dependency stays one-way:
// coordinator, worker → protocol → hint, trajectory.
//
// # Versions
//
// Task and result messages carry their major version in the field "v". The
// rules let a fleet run two builds side by side during a rolling upgrade:
//
//   - Within a major version, changes are additive. A reader ignores fields it
//     does not know (decoding is deliberately not strict here, unlike config
//     files), and a field a newer writer adds must be optional, its zero
//     value meaning what older builds did.
//   - A change an older reader would misunderstand (a field that changes
//     meaning, a required new field) bumps Version. A reader refuses a
//     message of a major version it does not speak: DecodeTask and
//     DecodeResult return an error wrapping ErrVersion, and the caller
//     dead-letters the task with that reason instead of guessing.
//   - A message without "v" was written before the field existed; it reads
//     as version 1, which it is.
package protocol

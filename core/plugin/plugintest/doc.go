// Package plugintest is what a plugin author tests a plugin with.
//
// SourceSuite, TransformSuite and SinkSuite are acceptance suites: an
// author fills one in for their plugin and calls its Run method from a go
// test; it checks, calling the plugin's Go implementation directly, what
// the engine relies on from every plugin of that kind (config errors that
// name their keys, rejects that keep the raw input, a source reopened at
// its positions after a crash, a sink's write all or nothing and
// idempotent for a replayed batch id). Every plugin of the etl repository
// passes them.
//
// CPUTime and WithEngineRetry help the author's own tests and benchmarks.
package plugintest

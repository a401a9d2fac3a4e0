package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/core/spec"
)

// Instance is a pipeline whose plugin processes are running and configured.
type Instance struct {
	Spec     *spec.Spec
	Pipeline Pipeline
	// Schemas are the schemas after the source and after each transform,
	// one for each; after a step with mistakes, the best known (see
	// Configure), empty when none is.
	Schemas   []record.Schema
	Processes []*host.Process
	// SourceConfigured, TransformsConfigured[i] and SinkConfigured say
	// which steps took their configuration without a mistake; SchemaExact
	// that every step before the sink did, so that the sink was given the
	// schema a run would give it.
	SourceConfigured     bool
	TransformsConfigured []bool
	SinkConfigured       bool
	SchemaExact          bool
	// uncertain are the fields whose configuration in a step before the
	// sink has a mistake (plugin.ConfigError.Field): the sink's check says
	// nothing about them, since their type is not known.
	uncertain map[string]bool
	// sinkGotConfig says the sink's Configure was called (with or without
	// mistakes), so that Check may ask it.
	sinkGotConfig bool
	logger        *slog.Logger
	host          *host.Host
	schema        record.Schema // what the sink receives
}

// Options returns the engine options of the spec.
func OptionsOf(s *spec.Spec) Options {
	o := Options{BatchMaxRows: s.Engine.BatchMaxRows, BatchMaxBytes: s.Engine.BatchMaxBytes, BatchMaxWait: s.Engine.BatchMaxWait, QueueDepth: s.Engine.QueueDepth,
		MaxRestarts: s.Engine.MaxRestarts, RestartWindow: s.Engine.RestartWindow}
	if o.MaxRestarts == 0 {
		o.MaxRestarts = -1 // engine.max_restarts: 0 restarts nothing
	}
	return o
}

// Open starts a process for each step of s and configures it. Every
// configuration mistake of every plugin is returned together as
// spec.Errors, located in the pipeline file. On error nothing is left
// running.
func Open(ctx context.Context, s *spec.Spec, h *host.Host, logger *slog.Logger) (*Instance, error) {
	in, errs := Configure(ctx, s, h, logger)
	if len(errs) > 0 {
		in.Kill()
		return nil, errs
	}
	return in, nil
}

// Configure starts a process for each usable step of s (see
// spec.Step.Usable) and configures it, going on past every mistake so that
// one run finds them all: a step whose plugin cannot be started is
// reported at its `plugin:` (or `path:`) key; a plugin's own mistakes at
// their keys in its `config:` block. A step after one with mistakes is
// configured with the schema that one still answered (the columns a source
// declares, the fields a cleanser names) or, after a transform that could
// not be started, with that transform's input, as if it passed rows
// through; when no schema is known at all, the steps after are not
// configured. Each Configured flag says which steps were configured
// without mistakes. The Instance's processes run whatever the mistakes:
// Close or Kill it.
func Configure(ctx context.Context, s *spec.Spec, h *host.Host, logger *slog.Logger) (*Instance, spec.Errors) {
	return configureSteps(ctx, s, h, logger, true)
}

// configureSteps is Configure, of the sink too when withSink (etl test
// runs the source and the transforms only).
func configureSteps(ctx context.Context, s *spec.Spec, h *host.Host, logger *slog.Logger, withSink bool) (*Instance, spec.Errors) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &configurer{in: &Instance{Spec: s, logger: logger, host: h, uncertain: map[string]bool{}}}
	in := c.in

	// Source.
	var schema record.Schema
	known := false
	if p := c.start(ctx, &s.Source); p != nil {
		if src, err := p.Source(); err != nil {
			c.fail(&s.Source, err)
		} else {
			in.Pipeline.Source = Step[plugin.Source]{Name: s.Source.Name, Plugin: src, Wrap: p.Err}
			var err error
			schema, err = src.Configure(ctx, c.config(&s.Source))
			in.SourceConfigured = c.configured(&s.Source, p, err)
			known = in.SourceConfigured || len(schema.Fields) > 0
		}
	}
	exact := in.SourceConfigured
	in.Schemas = append(in.Schemas, schema)

	// Transforms, each fed the schema of the step before.
	in.TransformsConfigured = make([]bool, len(s.Transforms))
	in.Pipeline.TransformsNeedNoRaw = len(s.Transforms) > 0 // until one does
	for i := range s.Transforms {
		ok := false
		schema, known, ok = c.transform(ctx, i, schema, known)
		exact = exact && ok
		in.Schemas = append(in.Schemas, schema)
	}

	// Sink.
	if !withSink {
		in.SchemaExact, in.schema = exact, schema
		return in, c.errs
	}
	if p := c.start(ctx, &s.Sink); p != nil {
		if sink, err := p.Sink(); err != nil {
			c.fail(&s.Sink, err)
		} else {
			in.Pipeline.Sink = Step[plugin.Sink]{Name: s.Sink.Name, Plugin: sink, Wrap: p.Err}
			in.Pipeline.SinkAsksForRaw = p.Info.SinkAsksForRaw
			if known {
				in.SinkConfigured = c.configured(&s.Sink, p, sink.Configure(ctx, c.config(&s.Sink), schema))
				in.sinkGotConfig = true
			}
		}
	}
	in.SchemaExact = exact
	in.schema = schema
	return in, c.errs
}

// configurer is the state of one Configure: the instance it builds and
// the mistakes found so far.
type configurer struct {
	in   *Instance
	errs spec.Errors
}

// start starts st's plugin when st is usable; nil when it is not or could
// not be started (a mistake recorded).
func (c *configurer) start(ctx context.Context, st *spec.Step) *host.Process {
	if !st.Usable() {
		return nil
	}
	in := c.in
	p, err := in.host.Start(ctx, st.Name, host.Ref{Name: st.Plugin, Path: st.Path, Env: st.Env}, host.StartOptions{Logger: in.logger})
	if err != nil {
		c.fail(st, err)
		return nil
	}
	in.Processes = append(in.Processes, p)
	in.logger.Debug("plugin started", "step", st.Name, "plugin", p.Info.Name, "version", p.Info.Version, "pid", p.Pid(), "where", p.Location.Where())
	return p
}

// fail records err, a failure of st's plugin that is no mistake in its
// config, at st's plugin (or path) key.
func (c *configurer) fail(st *spec.Step, err error) {
	key := "plugin"
	if st.Path != "" {
		key = "path"
	}
	e := c.in.Spec.LocateKey(st, key)
	e.Msg = strings.TrimPrefix(err.Error(), st.Name+": ")
	e.Err = err
	c.errs = append(c.errs, e)
}

// configured sorts the answer of st's Configure: nil, its mistakes, or a
// failure to talk to it. It says whether there were none.
func (c *configurer) configured(st *spec.Step, p *host.Process, err error) bool {
	if err == nil {
		return true
	}
	var ces plugin.ConfigErrors
	if !errors.As(err, &ces) {
		c.fail(st, p.Err("configure", err))
		return false
	}
	s := c.in.Spec
	for _, ce := range ces {
		e := s.Locate(st, ce.Path)
		e.Msg = ce.Message
		c.errs = append(c.errs, e)
		if ce.Field != "" && st != &s.Sink {
			c.in.uncertain[ce.Field] = true
		}
	}
	return false
}

func (c *configurer) config(st *spec.Step) plugin.Config {
	return plugin.Config{Pipeline: c.in.Spec.Name, Name: st.Name, Raw: st.Config}
}

// transform starts transform i and configures it with the schema before
// it (known says whether any is). It returns the schema after it, the
// best known: its input when it could not be started; whether that is
// known; and whether the transform took its config without a mistake.
func (c *configurer) transform(ctx context.Context, i int, schema record.Schema, known bool) (record.Schema, bool, bool) {
	in := c.in
	st := &in.Spec.Transforms[i]
	p := c.start(ctx, st)
	if p == nil {
		in.Pipeline.TransformsNeedNoRaw = false
		return schema, known, false
	}
	if !p.Info.TransformNeedsNoRaw {
		in.Pipeline.TransformsNeedNoRaw = false
	}
	t, err := p.Transform()
	if err != nil {
		c.fail(st, err)
		return schema, known, false
	}
	in.Pipeline.Transforms = append(in.Pipeline.Transforms, Step[plugin.Transform]{Name: st.Name, Plugin: t, Wrap: p.Err})
	if !known {
		return schema, false, false
	}
	out, err := t.Configure(ctx, c.config(st), schema)
	in.TransformsConfigured[i] = c.configured(st, p, err)
	switch {
	case in.TransformsConfigured[i]:
		return out, true, true
	case len(out.Fields) > 0:
		return out, true, false
	}
	return record.Schema{}, false, false
}

// StartWriters starts the further instances of the sink that
// engine.writers asks for, configured as the first, for a run; commands
// that only look (validate, status) need none.
func (in *Instance) StartWriters(ctx context.Context) error {
	s := in.Spec
	for i := len(in.Pipeline.MoreWriters) + 2; i <= s.Engine.Writers; i++ {
		name := fmt.Sprintf("%s#%d", s.Sink.Name, i)
		p, err := in.host.Start(ctx, name, host.Ref{Name: s.Sink.Plugin, Path: s.Sink.Path, Env: s.Sink.Env}, host.StartOptions{Logger: in.logger})
		if err != nil {
			return err
		}
		in.Processes = append(in.Processes, p)
		sink, err := p.Sink()
		if err != nil {
			return err
		}
		cfg := plugin.Config{Pipeline: s.Name, Name: s.Sink.Name, Raw: s.Sink.Config}
		if err := sink.Configure(ctx, cfg, in.schema); err != nil {
			return p.Err("configure", err)
		}
		in.Pipeline.MoreWriters = append(in.Pipeline.MoreWriters, Step[plugin.Sink]{Name: name, Plugin: sink, Wrap: p.Err})
	}
	return nil
}

// Close asks every plugin to close, then ends every process.
func (in *Instance) Close(ctx context.Context) error {
	var errs []error
	if in.Pipeline.Source.Plugin != nil {
		errs = append(errs, in.Pipeline.Source.err("close", in.Pipeline.Source.Plugin.Close(ctx)))
	}
	for _, t := range in.Pipeline.Transforms {
		errs = append(errs, t.err("close", t.Plugin.Close(ctx)))
	}
	if in.Pipeline.Sink.Plugin != nil {
		errs = append(errs, in.Pipeline.Sink.err("close", in.Pipeline.Sink.Plugin.Close(ctx)))
	}
	for _, w := range in.Pipeline.MoreWriters {
		errs = append(errs, w.err("close", w.Plugin.Close(ctx)))
	}
	in.Kill()
	return errors.Join(errs...)
}

// Kill ends every plugin process at once: each is asked to exit, and one
// that has not within 3s (a hung plugin) is killed by SIGKILL.
func (in *Instance) Kill() {
	var wg sync.WaitGroup
	for _, p := range in.Processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Stop(3 * time.Second)
		}()
	}
	wg.Wait()
}

// Describe lists the steps, for logs: "source=csvdir(pid 123)".
func (in *Instance) Describe() string {
	out := ""
	for i, p := range in.Processes {
		if i > 0 {
			out += " -> "
		}
		out += fmt.Sprintf("%s=%s@%s", p.Step, p.Info.Name, p.Info.Version)
	}
	return out
}

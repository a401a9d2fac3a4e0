package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"etl/core/host"
	"etl/core/plugin"
	"etl/core/record"
	"etl/core/spec"
)

// Instance is a pipeline whose plugin processes are running and configured.
type Instance struct {
	Spec     *spec.Spec
	Pipeline Pipeline
	// Schemas are the schemas after the source and after each transform.
	Schemas   []record.Schema
	Processes []*host.Process
	logger    *slog.Logger
	host      *host.Host
	schema    record.Schema // what the sink receives
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
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	in := &Instance{Spec: s, logger: logger, host: h}
	ok := false
	defer func() {
		if !ok {
			in.Kill()
		}
	}()
	var errs spec.Errors
	start := func(st *spec.Step) (*host.Process, error) {
		p, err := h.Start(ctx, st.Name, host.Ref{Name: st.Plugin, Path: st.Path, Env: st.Env}, host.StartOptions{Logger: logger})
		if err != nil {
			return nil, err
		}
		in.Processes = append(in.Processes, p)
		logger.Debug("plugin started", "step", st.Name, "plugin", p.Info.Name, "version", p.Info.Version, "pid", p.Pid(), "where", p.Location.Where())
		return p, nil
	}
	configErr := func(st *spec.Step, p *host.Process, err error) error {
		var ces plugin.ConfigErrors
		if !errors.As(err, &ces) {
			return p.Err("configure", err)
		}
		for _, ce := range ces {
			e := s.Locate(st, ce.Path)
			e.Msg = ce.Message
			errs = append(errs, e)
		}
		return nil
	}
	cfg := func(st *spec.Step) plugin.Config {
		return plugin.Config{Pipeline: s.Name, Name: st.Name, Raw: st.Config}
	}

	// Source.
	p, err := start(&s.Source)
	if err != nil {
		return nil, err
	}
	src, err := p.Source()
	if err != nil {
		return nil, err
	}
	in.Pipeline.Source = Step[plugin.Source]{Name: s.Source.Name, Plugin: src, Wrap: p.Err}
	schema, err := src.Configure(ctx, cfg(&s.Source))
	known := err == nil
	if err != nil {
		if err := configErr(&s.Source, p, err); err != nil {
			return nil, err
		}
	}
	in.Schemas = append(in.Schemas, schema)

	// Transforms, each fed the schema of the step before.
	for i := range s.Transforms {
		st := &s.Transforms[i]
		p, err := start(st)
		if err != nil {
			return nil, err
		}
		t, err := p.Transform()
		if err != nil {
			return nil, err
		}
		in.Pipeline.Transforms = append(in.Pipeline.Transforms, Step[plugin.Transform]{Name: st.Name, Plugin: t, Wrap: p.Err})
		if !known {
			continue // its input is unknown while an earlier step is misconfigured
		}
		schema, err = t.Configure(ctx, cfg(st), schema)
		if err != nil {
			known = false
			if err := configErr(st, p, err); err != nil {
				return nil, err
			}
			continue
		}
		in.Schemas = append(in.Schemas, schema)
	}

	// Sink.
	p, err = start(&s.Sink)
	if err != nil {
		return nil, err
	}
	sink, err := p.Sink()
	if err != nil {
		return nil, err
	}
	in.Pipeline.Sink = Step[plugin.Sink]{Name: s.Sink.Name, Plugin: sink, Wrap: p.Err}
	if known {
		if err := sink.Configure(ctx, cfg(&s.Sink), schema); err != nil {
			if err := configErr(&s.Sink, p, err); err != nil {
				return nil, err
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}

	in.schema = schema
	ok = true
	return in, nil
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

// Command devkafka is a local Kafka for development and tests: franz-go's
// kfake, which speaks the real Kafka wire protocol (produce, fetch,
// consumer groups, offsets, idempotent producers) in one process, with the
// topics it is told to create. It is NOT a Kafka server for production: it
// keeps its log in memory (or in --data), has one broker and no
// replication, and exists because no Kafka broker can be installed on the
// machines etl is developed on.
//
// Usage:
//
//	devkafka --addr 127.0.0.1:9092 --topic events --partitions 12
//
// It prints one line with its address once it listens, and stops cleanly
// on SIGINT or SIGTERM. Run `devkafka --help` for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// topicList is the repeatable --topic flag: NAME or NAME:PARTITIONS, also
// as a comma-separated list.
type topicList []string

func (l *topicList) String() string { return strings.Join(*l, ",") }

func (l *topicList) Set(s string) error {
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			*l = append(*l, t)
		}
	}
	return nil
}

// topic is a topic to create and its partition count.
type topic struct {
	name       string
	partitions int32
}

// parseTopics reads the --topic values, with partitions for those that
// give none.
func parseTopics(list []string, partitions int) ([]topic, error) {
	var out []topic
	seen := map[string]bool{}
	for _, v := range list {
		name, n, hasN := strings.Cut(v, ":")
		p := partitions
		if hasN {
			var err error
			if p, err = strconv.Atoi(n); err != nil || p < 1 {
				return nil, fmt.Errorf("--topic %q: %q is not a partition count >= 1", v, n)
			}
		}
		if name == "" || strings.ContainsAny(name, " /") {
			return nil, fmt.Errorf("--topic %q: %q is not a topic name", v, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("--topic %q: topic %s given twice", v, name)
		}
		seen[name] = true
		out = append(out, topic{name, int32(p)})
	}
	return out, nil
}

// checkLoopback refuses an address whose host is not a loopback address
// (or localhost).
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q is not host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--addr %q is not a loopback address: devkafka listens on 127.0.0.1 or ::1 only, unless --allow-non-loopback is given", addr)
	}
	return nil
}

// run is the command: flags in, a kfake cluster until ctx ends, an exit
// code out.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devkafka", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var topics topicList
	addr := fs.String("addr", "127.0.0.1:9092", "host:port to listen on (port 0: any free port; the line printed names it)")
	fs.Var(&topics, "topic", "a topic to create, `NAME` or NAME:PARTITIONS; repeat it or give a comma-separated list (default events)")
	partitions := fs.Int("partitions", 12, "partitions of each --topic that names none")
	autoCreate := fs.Bool("auto-create", false, "create a topic a client names that does not exist (with --partitions partitions)")
	dataDir := fs.String("data", "", "keep the topics, offsets and groups in this folder across restarts (default: in memory, gone on exit)")
	allowRemote := fs.Bool("allow-non-loopback", false, "allow --addr on an address other than loopback (for a container network; devkafka has no authentication)")
	verbose := fs.Bool("v", false, "log the broker's warnings and errors to stderr")
	showVersion := fs.Bool("version", false, "print the version and exit")
	help := fs.Bool("help", false, "print this help and exit")
	fs.BoolVar(help, "h", false, "print this help and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: devkafka [flags]

A local Kafka FOR DEVELOPMENT AND TESTS ONLY, not for production: franz-go's
kfake in one process, speaking the real Kafka wire protocol (produce, fetch,
consumer groups, committed offsets, idempotent producers). One broker, no
replication, the log in memory unless --data is given. It creates the topics
given, prints "devkafka: listening on ADDR (topics ...)" once it listens and
stops on SIGINT or SIGTERM.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *help {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	if *showVersion {
		fmt.Fprintf(stdout, "devkafka %s\n", version)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "devkafka: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *partitions < 1 {
		fmt.Fprintf(stderr, "devkafka: --partitions %d is not >= 1\n", *partitions)
		return 2
	}
	if len(topics) == 0 {
		topics = topicList{"events"}
	}
	ts, err := parseTopics(topics, *partitions)
	if err != nil {
		fmt.Fprintf(stderr, "devkafka: %v\n", err)
		return 2
	}
	if !*allowRemote {
		if err := checkLoopback(*addr); err != nil {
			fmt.Fprintf(stderr, "devkafka: %v\n", err)
			return 2
		}
	} else if _, _, err := net.SplitHostPort(*addr); err != nil {
		fmt.Fprintf(stderr, "devkafka: --addr %q is not host:port: %v\n", *addr, err)
		return 2
	}

	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DefaultNumPartitions(*partitions),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, *addr) }),
	}
	for _, t := range ts {
		opts = append(opts, kfake.SeedTopics(t.partitions, t.name))
	}
	if *autoCreate {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	if *dataDir != "" {
		if err := os.MkdirAll(*dataDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "devkafka: --data: %v\n", err)
			return 1
		}
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	if *verbose {
		opts = append(opts, kfake.WithLogger(kfake.BasicLogger(stderr, kfake.LogLevelWarn)))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "devkafka: listen on %s: %v\n", *addr, err)
		return 1
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = fmt.Sprintf("%s:%d", t.name, t.partitions)
	}
	sort.Strings(names)
	fmt.Fprintf(stdout, "devkafka: listening on %s (topics %s)\n", strings.Join(c.ListenAddrs(), ","), strings.Join(names, ","))
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "devkafka: stopping")
	c.Close()
	return 0
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/host"
)

// The rows of the fault suite for issue 14: what producers do at the file
// boundary, the plugins etl refuses to start, plugins dying while etl is
// idle, and database outages under a streaming run.

// craftedRow is a clean event of user: the rows the test itself drops
// into the inbox, next to datagen's, have users of their own (from
// 900,000,000 on), so that the test can tell that each landed once.
func craftedRow(user int) string {
	return fmt.Sprintf("%d,view,1001,Widget,19.99,2025-06-01T00:00:00Z,s-%d\n", user, user)
}

const craftedHeader = "user_id,action,product_id,product_name,price,event_time,session_id\n"

// crafted is a file of n clean events of the users from first on.
func crafted(first, n int) string {
	var b strings.Builder
	b.WriteString(craftedHeader)
	for u := first; u < first+n; u++ {
		b.WriteString(craftedRow(u))
	}
	return b.String()
}

// drop writes content into dir under a temporary name and renames it to
// name, with mtime when not zero, as a producer does.
func (r *faultRun) drop(dir, name, content string, mtime time.Time) {
	r.t.Helper()
	tmp := filepath.Join(dir, "."+name+".part")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(tmp, mtime, mtime); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		r.t.Fatal(err)
	}
}

// waitGone waits until name has left the inbox (archived or quarantined).
func (r *faultRun) waitGone(name string, wait time.Duration) bool {
	ok := r.waitFor(wait, func() bool {
		_, err := os.Lstat(filepath.Join(r.inbox, name))
		return os.IsNotExist(err)
	})
	if !ok {
		r.t.Errorf("%s still in the inbox after %s", name, wait)
	}
	return ok
}

// withCrafted is the manifest's counts plus n crafted clean rows, and a
// check that, beside the manifest's, each crafted user of the ranges
// [first, first+n) is in events exactly once.
func withCrafted(ranges ...[2]int) (func(*faultRun) want, func(*faultRun, want)) {
	n := 0
	for _, rg := range ranges {
		n += rg[1]
	}
	wantFn := func(r *faultRun) want { return want{r.manifest.Accepted + int64(n), r.manifest.Rejected} }
	check := func(r *faultRun, w want) {
		m := *r.manifest
		m.Accepted += int64(n)
		checkAgainstManifest(r.t, r.dsn, &m)
		for _, rg := range ranges {
			checkUsersOnce(r, rg[0], rg[1])
		}
	}
	return wantFn, check
}

// checkUsersOnce checks that each user of [first, first+n) has exactly
// one row in events.
func checkUsersOnce(r *faultRun, first, n int) {
	r.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, users int
	err = conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT user_id) FROM events WHERE user_id >= $1 AND user_id < $2`, first, first+n).Scan(&rows, &users)
	if err != nil {
		r.t.Fatal(err)
	}
	if rows != n || users != n {
		r.t.Errorf("users %d to %d: %d rows of %d users in events, want %d of each", first, first+n-1, rows, users, n)
	}
}

// waitIdle waits until etl has drained the inbox.
func (r *faultRun) waitIdle() {
	r.t.Helper()
	if !r.waitFor(time.Minute, func() bool { return len(r.inboxFiles()) == 0 }) {
		r.t.Errorf("inbox not drained within a minute: %v", r.inboxFiles())
	}
}

// stopDatabaseWhenIdle stops the row's own server once etl is idle.
func (r *faultRun) stopDatabaseWhenIdle() {
	r.t.Helper()
	r.waitIdle()
	if err := r.cluster.Stop(); err != nil {
		r.t.Fatal(err)
	}
}

// appendTo appends content to the inbox's file name, which must still be
// there (being read).
func (r *faultRun) appendTo(name, content string) bool {
	f, err := os.OpenFile(filepath.Join(r.inbox, name), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		r.t.Errorf("append to %s: %v (read to its end before the change: make the file bigger)", name, err)
		return false
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		r.t.Errorf("append to %s: %v", name, err)
		return false
	}
	return true
}

// bigFile is one datagen file of 300,000 rows, written before etl starts,
// large enough that a change lands while it is being read.
var bigFile = dataPlan{files: 1, rowsPerFile: 300000, preload: true}

// small is a few datagen files written before etl starts.
var small = dataPlan{files: 3, rowsPerFile: 2000, preload: true}

func issue14Faults() []fault {
	sameNameWant, sameNameCheck := withCrafted([2]int{910000000, 100}, [2]int{910000500, 100})
	appendWant, appendCheck := withCrafted([2]int{920000000, 10})
	idleWant, idleCheck := withCrafted([2]int{940000000, 50})
	outageWant, outageCheck := withCrafted([2]int{950000000, 20}, [2]int{950000100, 20})
	sigintWant, sigintCheck := withCrafted([2]int{960000000, 20})
	return []fault{
		{
			name:  "same name, size and mtime, other bytes (tar x, cp -p)",
			short: true,
			data:  small,
			inject: func(r *faultRun) {
				mtime := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
				first, second := crafted(910000000, 100), crafted(910000500, 100)
				if len(first) != len(second) {
					r.t.Fatalf("the two files differ in size: %d, %d", len(first), len(second))
				}
				r.drop(r.inbox, "replay.csv", first, mtime)
				r.waitGone("replay.csv", time.Minute)
				r.drop(r.inbox, "replay.csv", second, mtime)
				r.waitGone("replay.csv", time.Minute)
			},
			etl:   recovers,
			want:  sameNameWant,
			check: sameNameCheck,
		},
		{
			name: "10 lines appended to a 300,000-row file mid-read",
			data: bigFile,
			inject: func(r *faultRun) {
				r.waitCommittedMore(time.Minute)
				if r.appendTo(r.manifest.Files[0], strings.TrimPrefix(crafted(920000000, 10), craftedHeader)) {
					r.notef("appended after %d rows committed", r.committed)
				}
			},
			etl:   recovers,
			want:  appendWant,
			check: appendCheck,
		},
		{
			// A file of crafted rows, one user each, so that a row read
			// twice shows; datagen's few files beside it.
			name: "a 300,000-row file truncated mid-read",
			data: dataPlan{files: 1, rowsPerFile: 500, preload: true},
			setup: func(r *faultRun) {
				r.drop(r.inbox, "big.csv", crafted(truncFirst, 300000), time.Time{})
			},
			inject: func(r *faultRun) {
				r.waitCommittedMore(time.Minute)
				if err := os.Truncate(filepath.Join(r.inbox, "big.csv"), 1000); err != nil {
					r.t.Errorf("truncate big.csv: %v (read to its end before: make it bigger)", err)
					return
				}
				r.notef("truncated after %d rows committed", r.committed)
				if !r.waitFor(time.Minute, func() bool { return exists(filepath.Join(r.quarantine, "big.csv")) }) {
					r.t.Error("big.csv is not in the quarantine folder")
				}
			},
			etl:   recovers,
			want:  func(r *faultRun) want { w, _ := countTables(r.dsn); return w },
			check: checkTruncated,
		},
		{
			name:  "the same file dropped again, under its name and another",
			short: true,
			data:  small,
			inject: func(r *faultRun) {
				name := r.manifest.Files[0]
				archived := filepath.Join(r.archive, name)
				if !r.waitFor(time.Minute, func() bool { return exists(archived) }) {
					r.t.Fatalf("%s never archived", name)
				}
				content, err := os.ReadFile(archived)
				if err != nil {
					r.t.Fatal(err)
				}
				r.drop(r.inbox, "copy-of-"+name, string(content), time.Time{})
				r.waitGone("copy-of-"+name, time.Minute)
				r.drop(r.inbox, name, string(content), time.Time{})
				r.waitGone(name, time.Minute)
			},
			etl: recovers,
			check: func(r *faultRun, w want) {
				checkAgainstManifest(r.t, r.dsn, r.manifest)
				if dups, _ := filepath.Glob(filepath.Join(r.archive, "*.duplicate*.csv")); len(dups) != 2 {
					r.t.Errorf("archive holds %v, want the two copies tagged duplicate", dups)
				}
				if !strings.Contains(r.logText(), "same bytes") {
					r.t.Error("no warning about the duplicates in etl's log")
				}
			},
		},
		{
			name:  "symbolic link to a file outside the inbox",
			short: true,
			data:  small,
			setup: func(r *faultRun) {
				outside := filepath.Join(r.dir, "outside")
				if err := os.MkdirAll(outside, 0o755); err != nil {
					r.t.Fatal(err)
				}
				r.drop(outside, "secret.csv", crafted(930000000, 5), time.Time{})
				if err := os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(r.inbox, "passwd.csv")); err != nil {
					r.t.Fatal(err)
				}
			},
			inject: func(r *faultRun) {
				// Everything but the link is read; then the link goes, so
				// that the inbox drains.
				r.waitFor(time.Minute, func() bool { return len(r.inboxFiles()) == 1 })
				time.Sleep(time.Second)
				if !strings.Contains(r.logText(), "symbolic link") {
					r.t.Error("no warning about the link in etl's log")
				}
				os.Remove(filepath.Join(r.inbox, "passwd.csv"))
			},
			etl: recovers,
			check: func(r *faultRun, w want) {
				checkAgainstManifest(r.t, r.dsn, r.manifest) // the counts leave no room for the link's rows
			},
		},
		{
			name:   "a world-writable plugin named by a pipeline",
			short:  true,
			data:   small,
			inject: injectWorldWritablePlugin,
			etl:    recovers,
		},
		{
			name: "cleanser killed while etl is idle",
			data: small,
			inject: func(r *faultRun) {
				r.waitIdle()
				time.Sleep(500 * time.Millisecond)
				old := r.pluginPID("cleanser", 10*time.Second)
				if old == 0 {
					r.t.Fatal("no cleanser process under etl")
				}
				killed := time.Now()
				syscall.Kill(old, syscall.SIGKILL)
				if !r.waitFor(20*time.Second, func() bool { p := r.pluginPID("cleanser", 0); return p != 0 && p != old }) {
					r.t.Error("no new cleanser 20s after the kill")
				}
				r.notef("cleanser restarted %s after the kill", time.Since(killed).Round(100*time.Millisecond))
				r.drop(r.inbox, "after-restart.csv", crafted(940000000, 50), time.Time{})
			},
			etl:   recovers,
			want:  idleWant,
			check: idleCheck,
		},
		{
			name:      "PostgreSQL stopped 3 minutes, streaming, files arriving",
			data:      small,
			ownServer: true,
			inject: func(r *faultRun) {
				r.stopDatabaseWhenIdle()
				down := time.Now()
				r.drop(r.inbox, "during-outage-1.csv", crafted(950000000, 20), time.Time{})
				time.Sleep(time.Minute)
				r.drop(r.inbox, "during-outage-2.csv", crafted(950000100, 20), time.Time{})
				time.Sleep(3*time.Minute - time.Since(down))
				if err := r.cluster.Start(); err != nil {
					r.t.Fatal(err)
				}
				r.notef("database down %s", time.Since(down).Round(time.Second))
			},
			etl:   recovers,
			want:  outageWant,
			check: outageCheck,
		},
		{
			name:      "SIGINT while PostgreSQL is down",
			short:     true,
			data:      small,
			ownServer: true,
			inject: func(r *faultRun) {
				r.stopDatabaseWhenIdle()
				r.drop(r.inbox, "during-outage.csv", crafted(960000000, 20), time.Time{})
				time.Sleep(3 * time.Second) // etl is retrying the database now
				sent := time.Now()
				code, how := r.etl.stop(r.t)
				took := time.Since(sent)
				if code != 0 || took > 2*time.Second {
					r.t.Errorf("SIGINT during the outage: %s after %s, want exit 0 within 2s", how, took.Round(time.Millisecond))
				}
				r.notef("SIGINT in the outage: %s after %s", how, took.Round(time.Millisecond))
				if err := r.cluster.Start(); err != nil {
					r.t.Fatal(err)
				}
			},
			etl:   recovers,
			want:  sigintWant,
			check: sigintCheck,
		},
	}
}

// truncFirst is the first user of the file the truncation row cuts.
const truncFirst = 970000000

// checkTruncated: the rows of big.csv read before the truncation stay,
// none twice; datagen's files beside it land whole; big.csv is in the
// quarantine folder, named in an ERROR.
func checkTruncated(r *faultRun, w want) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var big, distinct, others, rejects int64
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE user_id >= $1), count(DISTINCT user_id) FILTER (WHERE user_id >= $1),
		count(*) FILTER (WHERE user_id < $1), (SELECT count(*) FROM corrupt_records) FROM events`, truncFirst).Scan(&big, &distinct, &others, &rejects)
	if err != nil {
		r.t.Fatal(err)
	}
	if big == 0 || big != distinct || big >= 300000 {
		r.t.Errorf("big.csv: %d rows in events (%d users); want the rows read before the truncation, each once", big, distinct)
	}
	if others != r.manifest.Accepted || rejects != r.manifest.Rejected {
		r.t.Errorf("datagen's files: %d events, %d rejects; the manifest says %d and %d", others, rejects, r.manifest.Accepted, r.manifest.Rejected)
	}
	if log := r.logText(); !strings.Contains(log, "quarantined") || !strings.Contains(log, "big.csv") {
		r.t.Error("no ERROR naming the quarantined file in etl's log")
	}
}

// injectWorldWritablePlugin runs, beside the pipeline, `etl run --once` of
// a pipeline whose transform is a world-writable executable: etl must
// refuse to start it, saying why, and the program must never run.
func injectWorldWritablePlugin(r *faultRun) {
	dir := filepath.Join(r.dir, "plugins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	ran := filepath.Join(r.dir, "evil-ran")
	exe := filepath.Join(dir, "etl-plugin-evil")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(exe, 0o777); err != nil {
		r.t.Fatal(err)
	}
	empty := filepath.Join(r.dir, "empty")
	pipeline := filepath.Join(r.dir, "evil.yaml")
	yaml := fmt.Sprintf("version: 1\nname: evil\nsource:\n  plugin: csvdir\n  config: {path: %q, create: true, columns: [a], header: false}\n"+
		"transforms:\n  - name: evil\n    path: %q\nsink:\n  plugin: postgres\n  config: {dsn: %q, table: events}\n", empty, exe, r.dsn)
	if err := os.WriteFile(pipeline, []byte(yaml), 0o644); err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "run", pipeline, "--once", "--metrics-addr", "")
	cmd.Env = append(os.Environ(), runAsEtl+"=1", host.ExtraEnv+"=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		r.t.Errorf("etl ran a pipeline with a world-writable plugin:\n%s", out)
	}
	if !strings.Contains(string(out), "refusing plugin") || !strings.Contains(string(out), "world-writable") {
		r.t.Errorf("etl's refusal does not say why:\n%s", out)
	}
	if exists(ran) {
		r.t.Error("the world-writable plugin ran")
	}
	r.notef("refused: %s", lineWith(strings.ReplaceAll(string(out), dir+"/", ""), "refusing plugin"))
}

// lineWith returns the first line of s holding sub, from sub on.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			l = strings.TrimSpace(l)
			if i := strings.Index(l, sub); i > 0 {
				l = l[i:]
			}
			if len(l) > 80 {
				l = l[:80] + "..."
			}
			return l
		}
	}
	return ""
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/leadlang/lead/runtime/client"
	"github.com/leadlang/lead/runtime/store"
)

func init() {
	register(&command{name: "backup", summary: "take a consistent backup of a store, online or offline", run: runBackup})
	register(&command{name: "restore", summary: "restore a backup into a new store directory", run: runRestore})
}

const backupDoc = `
Backup writes a consistent backup of a Lead store to FILE: every step
acknowledged before the backup began is in it, whole. Against a running
server (--server URL, else $LEAD_SERVER) it asks the server for it
(POST /v1/admin/backup, with the token of --token or $LEAD_TOKEN) while the
server goes on serving; with --data DIR it reads a store no server is
using. FILE is written whole or not at all (through a temporary file), and
checked against the backup's own checksum; "-" writes to standard output.
Restore it with 'lead restore FILE --data NEWDIR'.`

func runBackup(env *cmdEnv, args []string) int {
	fl := newFlags(env, "backup", "[--server URL | --data DIR] FILE", backupDoc)
	data := fl.String("data", "", "back up the store in `DIR` (no server may be using it)")
	server := fl.String("server", "", "back up the running server at `URL` (default $LEAD_SERVER, else http://127.0.0.1:7420)")
	token := fl.String("token", env.getenv("LEAD_TOKEN"), "bearer `TOKEN` (default $LEAD_TOKEN)")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fl.usageError("expected one FILE")
	}
	if *data != "" && *server != "" {
		return fl.usageError("give --server or --data, not both")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var write func(io.Writer) error
	if *data != "" {
		if err := existingStore(*data); err != nil {
			return ioError(env, "backup", err)
		}
		st, err := store.Open(*data, store.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return ioError(env, "backup", fmt.Errorf("%w (if a server is using it, back it up with --server instead)", err))
		}
		defer st.Close()
		write = func(w io.Writer) error { return st.Backup(ctx, w) }
	} else {
		base := *server
		if base == "" {
			base = env.getenv("LEAD_SERVER")
		}
		if base == "" {
			base = "http://127.0.0.1:7420"
		}
		c := client.New(base, *token)
		write = func(w io.Writer) error {
			body, err := c.Backup(ctx)
			if err != nil {
				return err
			}
			defer body.Close()
			// Check the stream as it is written: a server that failed
			// half way sent no end marker.
			_, err = store.VerifyBackup(io.TeeReader(body, w))
			return err
		}
	}
	var err error
	if pos[0] == "-" {
		err = write(env.stdout)
	} else {
		err = store.WriteFileAtomic(pos[0], write)
	}
	if err != nil {
		if _, api := err.(*client.APIError); api {
			fmt.Fprintf(env.stderr, "lead backup: %v\n", err)
			return exitFail
		}
		return ioError(env, "backup", err)
	}
	return exitOK
}

const restoreDoc = `
Restore loads a backup written by 'lead backup' into DIR, a new or empty
directory, and checks it whole first: a file cut short or damaged restores
nothing. Then serve it with 'lead run --data DIR PATH...'. "-" reads the
backup from standard input.`

func runRestore(env *cmdEnv, args []string) int {
	fl := newFlags(env, "restore", "FILE --data DIR", restoreDoc)
	data := fl.String("data", "", "restore into `DIR` (required; new or empty)")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fl.usageError("expected one FILE")
	}
	if *data == "" {
		return fl.usageError("--data DIR is required: the directory to restore into")
	}
	in := env.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return ioError(env, "restore", err)
		}
		defer f.Close()
		in = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	created, err := store.Restore(ctx, in, *data, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return ioError(env, "restore", err)
	}
	fmt.Fprintf(env.stderr, "lead restore: restored the backup taken at %s into %s\n", created.Format("2006-01-02 15:04:05 MST"), *data)
	return exitOK
}

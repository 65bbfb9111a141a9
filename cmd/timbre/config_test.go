package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigDefaultsEnvAndFlags(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	c, err := loadConfig("serve", nil, env(nil), &out)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.NATSURL != "" || c.LogLevel != slog.LevelInfo || c.SessionTTL != 720*time.Hour {
		t.Fatalf("defaults = %+v", c)
	}
	c, err = loadConfig("serve", []string{"--addr", ":9090"}, env(map[string]string{
		"TIMBRE_ADDR": "127.0.0.1:1", "TIMBRE_NATS_URL": "nats://10.0.0.1:4222", "TIMBRE_LOG_LEVEL": "debug",
	}), &out)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9090" || c.NATSURL != "nats://10.0.0.1:4222" || c.LogLevel != slog.LevelDebug {
		t.Fatalf("flag should beat env, env beat default: %+v", c)
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := loadConfig("serve", nil, env(map[string]string{
		"TIMBRE_ADDR":         "8080",
		"TIMBRE_DATABASE_URL": "mysql://x",
		"TIMBRE_NATS_URL":     "http://x",
		"TIMBRE_LOG_FORMAT":   "xml",
		"TIMBRE_SESSION_TTL":  "forever",
		"TIMBRE_DB_MAX_CONNS": "0",
	}), &bytes.Buffer{})
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, v := range []string{"TIMBRE_ADDR", "TIMBRE_DATABASE_URL", "TIMBRE_NATS_URL", "TIMBRE_LOG_FORMAT", "TIMBRE_SESSION_TTL", "TIMBRE_DB_MAX_CONNS"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not mention %s:\n%v", v, err)
		}
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := loadConfig("serve", []string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range settings() {
		if !strings.Contains(out.String(), s.env) || !strings.Contains(out.String(), "--"+s.flag) {
			t.Errorf("--help lacks %s / --%s", s.env, s.flag)
		}
	}
}

func TestRunRejectsUnknownCommandsAndArgs(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("code %d, stderr %q", code, errOut.String())
	}
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "timbre ") {
		t.Fatalf("version: code %d, out %q", code, out.String())
	}
	errOut.Reset()
	if code := run([]string{"migrate", "extra"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unexpected argument") {
		t.Fatalf("code %d, stderr %q", code, errOut.String())
	}
}

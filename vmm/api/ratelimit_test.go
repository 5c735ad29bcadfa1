package api

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embervm/ember/vmm"
)

// TestRateLimitConfig: the rate limit fields of a config file reach
// vmm.Config, go back on the wire as numbers, and match the schema.
func TestRateLimitConfig(t *testing.T) {
	doc := loadSpec(t)
	p := filepath.Join(t.TempDir(), "c.json")
	c := configFile(t, p, `{"kernel":"/k","disks":[{"path":"/d","bandwidth":"10M","iops":500}],`+
		`"nets":[{"tap":"t0","bandwidth":125000,"pps":1000}],"rng_rate":"64K"}`)
	if d, n := c.Disks[0], c.Nets[0]; d.Bandwidth != 10<<20 || d.IOPS != 500 || n.Bandwidth != 125000 || n.PPS != 1000 || c.RNGRate != 64<<10 {
		t.Fatalf("config = %+v", c)
	}
	b, err := json.Marshal(WireConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, doc, "VMConfig", b, "a config with rate limits as ember writes it")
	if !strings.Contains(string(b), `"bandwidth":10485760`) || !strings.Contains(string(b), `"rng_rate":65536`) {
		t.Fatalf("wire config %s", b)
	}

	if err := writeFile(p, `{"kernel":"/k","rng":false,"rng_rate":1024}`); err != nil {
		t.Fatal(err)
	}
	w, err := ReadConfigFile(p)
	if err == nil {
		_, err = w.Config()
	}
	if err == nil || !strings.Contains(err.Error(), "rng_rate") {
		t.Fatalf("rng_rate without rng: %v, want an error naming rng_rate", err)
	}
	if err := writeFile(p, `{"kernel":"/k","disks":[{"path":"/d","bandwidth":"10"}]}`); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfigFile(p); err == nil || !strings.Contains(err.Error(), "unit") {
		t.Fatalf("bandwidth \"10\": %v, want an error asking for a unit", err)
	}
}

// configFile writes body to the config file p and reads it back.
func configFile(t *testing.T, p, body string) vmm.Config {
	t.Helper()
	if err := writeFile(p, body); err != nil {
		t.Fatal(err)
	}
	w, err := ReadConfigFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.Config()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

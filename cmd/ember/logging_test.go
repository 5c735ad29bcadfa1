package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLogSpec(t *testing.T) {
	var text, js strings.Builder
	logSpec{}.logger(&text, "web").Info("ended: poweroff")
	if got := text.String(); !strings.Contains(got, "level=INFO") || !strings.Contains(got, `msg="ended: poweroff"`) || !strings.Contains(got, "vm=web") || !strings.HasPrefix(got, "time=") {
		t.Errorf("text line %q: want time, level, msg and vm", got)
	}
	logSpec{Format: "json", Level: "warn"}.logger(&js, "web").Info("not shown")
	logSpec{Format: "json", Level: "warn"}.logger(&js, "web").Warn("shown")
	var line map[string]any
	if err := json.Unmarshal([]byte(js.String()), &line); err != nil || line["msg"] != "shown" || line["level"] != "WARN" || line["vm"] != "web" {
		t.Errorf("json output %q (%v): want one warning object with the VM's name", js.String(), err)
	}
	for _, bad := range []logSpec{{Format: "xml"}, {Level: "loud"}} {
		if err := bad.check(); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}

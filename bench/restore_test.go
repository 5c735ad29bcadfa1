package bench

import "testing"

func TestAnswered(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want bool
	}{
		{"/ # echo restored-$((6*7))\r\n", false},
		{"/ # echo restored-$((6*7))\r\nrestored-42\r\n", true},
		{"restored-420\r\n", false},
	} {
		if got := answered(tc.out); got != tc.want {
			t.Errorf("answered(%q) = %v, want %v", tc.out, got, tc.want)
		}
	}
	found := false
	for _, m := range Metrics {
		found = found || m.Key == RestoreAnswer
	}
	if !found {
		t.Error("the restore metrics are not in Metrics: the table would not show them")
	}
}

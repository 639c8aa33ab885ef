package sqlstore

import (
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("CREATE TABLE t (x);")}
	tests := []struct {
		name     string
		files    fstest.MapFS
		want     []int
		wantFail bool
	}{
		{"ordered", fstest.MapFS{"m/0002_b.sql": sql, "m/0001_a.sql": sql, "m/README": sql}, []int{1, 2}, false},
		{"empty", fstest.MapFS{"m/README": sql}, nil, false},
		{"gap", fstest.MapFS{"m/0001_a.sql": sql, "m/0003_c.sql": sql}, nil, true},
		{"duplicate", fstest.MapFS{"m/0001_a.sql": sql, "m/0001_b.sql": sql}, nil, true},
		{"starts at 2", fstest.MapFS{"m/0002_a.sql": sql}, nil, true},
		{"no version", fstest.MapFS{"m/init.sql": sql}, nil, true},
		{"zero", fstest.MapFS{"m/0000_a.sql": sql}, nil, true},
		{"unpadded sorts wrong", fstest.MapFS{"m/1_a.sql": sql, "m/2_b.sql": sql, "m/10_c.sql": sql}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := LoadMigrations(tc.files, "m")
			if tc.wantFail {
				if err == nil {
					t.Fatalf("loaded %v, want an error", ms)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("versions = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("versions = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

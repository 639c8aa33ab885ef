package retry

import (
	"errors"
	"fmt"
	"testing"
)

type marked struct {
	error
	permanent bool
}

func (m marked) Permanent() bool { return m.permanent }

func TestIsPermanent(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, false},
		{"marked", marked{base, true}, true},
		{"marked false", marked{base, false}, false},
		{"wrapped", fmt.Errorf("ctx: %w", marked{base, true}), true},
		{"joined", errors.Join(base, marked{base, true}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

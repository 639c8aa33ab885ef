package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/belfryhq/belfry/chime"
)

var flatSeeds = []string{
	`{"ClientRequestToken":"t-1","Content":"hello","Persistence":"PERSISTENT","Type":"STANDARD"}`,
	` { "Content" : "héllo ✓" , "Metadata":"" } `,
	`{}`, `{ }`, `{"Content":"a","Content":"b"}`, `{"content":"lower"}`, `{"Content":"esc\"aped"}`,
	`{"Content":"bad` + "\xff" + `"}`, `{"Content":"ctl` + "\x01" + `"}`, `{"Content":null}`, `{"Content":1}`,
	`{"Target":[{"MemberArn":"x"}]}`, `{"Content":"a"} x`, `{"Content":"a",}`, `{"Content":"a"`, `[]`, `"s"`,
	`{"Unknown":"x"}`, `{"Persistence":"NOT_AN_ENUM"}`, "{\"Content\":\"a\u2028b\"}",
}

// TestDecodeFlatAgreesWithEncodingJSON: whatever decodeFlat accepts,
// encoding/json accepts too, with the same result.
func TestDecodeFlatAgreesWithEncodingJSON(t *testing.T) {
	accepted := 0
	for _, body := range flatSeeds {
		if checkFlat(t, []byte(body)) {
			accepted++
		}
	}
	if accepted < 5 {
		t.Errorf("decodeFlat accepted only %d of the plain bodies", accepted)
	}
}

func FuzzDecodeFlat(f *testing.F) {
	for _, s := range flatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFlat(t, body) })
}

func checkFlat(t *testing.T, body []byte) bool {
	t.Helper()
	var fast chime.SendChannelMessageRequest
	if !decodeFlat(body, &fast) {
		return false
	}
	var slow chime.SendChannelMessageRequest
	if err := json.Unmarshal(body, &slow); err != nil {
		t.Fatalf("decodeFlat accepted %q, encoding/json refuses it: %v", body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("decodeFlat(%q) = %+v, encoding/json gives %+v", body, fast, slow)
	}
	return true
}

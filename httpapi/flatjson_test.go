package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strconv"
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

// TestWriteErrorBodyIsEncoderOutput: the hand-built error body is byte for
// byte what json.Encoder wrote before.
func TestWriteErrorBodyIsEncoderOutput(t *testing.T) {
	for _, msg := range []string{"plain", `quotes " \ <b>&`, "ctl \x01\n", "bad \xff", "line\u2028", "ünïcødé"} {
		var want bytes.Buffer
		json.NewEncoder(&want).Encode(errorBody{Code: "BadRequest", Message: msg})
		w := httptest.NewRecorder()
		WriteError(w, 400, "BadRequestException", "BadRequest", msg)
		if w.Body.String() != want.String() {
			t.Errorf("body %q, want %q", w.Body.String(), want.String())
		}
		if got := w.Header().Get("Content-Length"); got != strconv.Itoa(want.Len()) {
			t.Errorf("Content-Length %s, want %d", got, want.Len())
		}
		if w.Header().Get("x-amzn-ErrorType") != "BadRequestException" {
			t.Errorf("x-amzn-ErrorType %q", w.Header().Get("x-amzn-ErrorType"))
		}
	}
}

package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/belfryhq/belfry/chime"
)

// TemporaryCredentials is what POST /_belfry/credentials answers, in the
// shape STS and Cognito give their credentials.
type TemporaryCredentials struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	SessionToken    string    `json:"SessionToken"`
	Expiration      time.Time `json:"Expiration"`
}

// IssueFunc creates temporary credentials acting as userArn for ttl.
type IssueFunc func(ctx context.Context, userArn string, ttl time.Duration) (TemporaryCredentials, error)

// DefaultSessionDuration is the lifetime of temporary credentials when the
// request names none (STS's default too).
const DefaultSessionDuration = time.Hour

// CredentialsHandler serves Belfry's extension POST /_belfry/credentials:
// a backend signed with the root key asks for temporary credentials for one
// AppInstanceUser, to hand to that user's browser or mobile app, the way an
// app on AWS would call STS or Cognito. The body is
// {"AppInstanceUserArn": ARN, "DurationSeconds": N}.
func CredentialsHandler(auth Authenticator, log *slog.Logger, issue IssueFunc) http.Handler {
	h := &Handler{log: log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := uuid.NewString()
		w.Header().Set("x-amzn-RequestId", reqID)
		SetCORS(w, r)
		out, err := serveCredentials(r, auth, issue)
		if err != nil {
			h.writeError(w, reqID, err)
			return
		}
		var buf bytes.Buffer
		json.NewEncoder(&buf).Encode(out)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(http.StatusOK)
		w.Write(buf.Bytes())
	})
}

func serveCredentials(r *http.Request, auth Authenticator, issue IssueFunc) (TemporaryCredentials, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err != nil {
		return TemporaryCredentials{}, chime.Errorf(chime.BadRequest, "The request body could not be read: %v.", err)
	}
	p, err := auth.Authenticate(r, body)
	if err != nil {
		return TemporaryCredentials{}, err
	}
	if !p.IsRoot() {
		return TemporaryCredentials{}, chime.Errorf(chime.Forbidden, "Only the root credential may create temporary credentials.")
	}
	var in struct {
		AppInstanceUserArn *string
		DurationSeconds    *int64
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ):
			return TemporaryCredentials{}, chime.Errorf(chime.BadRequest, "%s has the wrong type: expected %s.", typ.Field, typ.Type)
		case errors.As(err, &syntax), errors.Is(err, io.EOF):
			return TemporaryCredentials{}, chime.Errorf(chime.BadRequest, "The request body must be a JSON object with AppInstanceUserArn and DurationSeconds.")
		}
		return TemporaryCredentials{}, chime.Errorf(chime.BadRequest, "Invalid request body: %v.", err)
	}
	if in.AppInstanceUserArn == nil || *in.AppInstanceUserArn == "" {
		return TemporaryCredentials{}, chime.Errorf(chime.BadRequest, "AppInstanceUserArn is required.")
	}
	ttl := DefaultSessionDuration
	if in.DurationSeconds != nil {
		if *in.DurationSeconds <= 0 || *in.DurationSeconds > 1<<31 {
			return TemporaryCredentials{}, chime.Errorf(chime.BadRequest, "DurationSeconds must be a positive number of seconds, got %d.", *in.DurationSeconds)
		}
		ttl = time.Duration(*in.DurationSeconds) * time.Second
	}
	return issue(r.Context(), *in.AppInstanceUserArn, ttl)
}

package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// Inspection (a Belfry extension, docs/compatibility.md): the most recent
// deliveries, newest first, whether or not a sink is configured.
//
//	GET /_belfry/push-notifications?AppInstanceArn=…&ChannelArn=…&MaxResults=…
//	GET /_belfry/stream-records?AppInstanceArn=…&ChannelArn=…&MaxResults=…
//
// Requests must be SigV4-signed with the root credential.

// Inspection limits.
const (
	DefaultInspectResults = 100
	MaxInspectResults     = 1000
)

// InspectHandler serves one inspection endpoint for deliveries of kind.
// It reads the store directly: the deliveries are Belfry's own records, not
// a Chime resource the service would authorize.
func InspectHandler(st store.Store, auth Authenticator, log *slog.Logger, kind store.DeliveryKind) http.Handler {
	h := &Handler{log: log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := uuid.NewString()
		w.Header().Set("x-amzn-RequestId", reqID)
		SetCORS(w, r)
		// The body's Code is the exception name, as this endpoint has
		// always answered (the API's own errors carry the models' Code).
		writeError := func(w http.ResponseWriter, err error) {
			var ce *chime.Error
			if !errors.As(err, &ce) {
				h.log.Error("internal error", "request_id", reqID, "err", err)
				ce = chime.Errorf(chime.ServiceFailure, "The deliveries could not be read. Request id %s.", reqID)
			}
			status, _ := wireInfo(ce.Kind)
			WriteError(w, status, string(ce.Kind), string(ce.Kind), ce.Message)
		}
		p, err := auth.Authenticate(r, nil)
		if err != nil {
			writeError(w, err)
			return
		}
		if !p.IsRoot() {
			writeError(w, chime.Errorf(chime.Forbidden, "The credential %s is not the root credential; %s is for the root credential only.", p.AccessKeyID, r.URL.Path))
			return
		}
		q := r.URL.Query()
		f := store.DeliveryFilter{Kind: kind, ChannelArn: q.Get("ChannelArn"), Limit: DefaultInspectResults}
		if a := q.Get("AppInstanceArn"); a != "" {
			arn, err := chime.ParseARN(a)
			if err != nil || arn.Type != chime.ResourceAppInstance {
				writeError(w, chime.Errorf(chime.BadRequest, "AppInstanceArn %q is not a valid AppInstance ARN.", a))
				return
			}
			f.AppInstanceID = arn.AppInstanceID
		}
		if m := q.Get("MaxResults"); m != "" {
			n, err := strconv.Atoi(m)
			if err != nil || n < 1 || n > MaxInspectResults {
				writeError(w, chime.Errorf(chime.BadRequest, "MaxResults must be an integer from 1 to %d.", MaxInspectResults))
				return
			}
			f.Limit = n
		}
		var ds []store.Delivery
		err = st.View(r.Context(), func(tx store.ReadTx) error {
			var err error
			ds, err = tx.ListDeliveries(r.Context(), f)
			return err
		})
		if err != nil {
			writeError(w, err)
			return
		}
		entries := make([]map[string]any, 0, len(ds))
		for _, d := range ds {
			entries = append(entries, entry(d))
		}
		key := "PushNotifications"
		if kind == store.DeliveryStream {
			key = "StreamRecords"
		}
		b, _ := json.Marshal(map[string]any{key: entries})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
}

// deliveryMeta is how a delivery fared.
type deliveryMeta struct {
	Id                   int64  `json:"Id"`
	State                string `json:"State"`
	Attempts             int    `json:"Attempts"`
	LastError            string `json:"LastError,omitempty"`
	CreatedTimestamp     string `json:"CreatedTimestamp"`
	LastUpdatedTimestamp string `json:"LastUpdatedTimestamp"`
}

// entry is a push document (its own fields) or a streaming record
// (StreamArn, PartitionKey, Record), with the delivery's fate under
// "Delivery".
func entry(d store.Delivery) map[string]any {
	e := map[string]any{}
	if d.Kind == store.DeliveryPush {
		_ = json.Unmarshal([]byte(d.Body), &e)
	} else {
		e["StreamArn"] = d.Target
		e["PartitionKey"] = d.PartitionKey
		e["Record"] = json.RawMessage(d.Body)
	}
	e["Delivery"] = deliveryMeta{Id: d.ID, State: string(d.State), Attempts: d.Attempts, LastError: d.LastError,
		CreatedTimestamp: d.CreatedAt.UTC().Format(time.RFC3339Nano), LastUpdatedTimestamp: d.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	return e
}

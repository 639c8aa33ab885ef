package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// checkBotConfiguration applies what the model cannot say: a Lex bot must
// be told which messages invoke it, through InvokedBy or the deprecated
// RespondsTo (semantics.md §6 Bots). The model has already required Lex,
// LexBotAliasArn and LocaleId and checked their shapes.
func checkBotConfiguration(c *chime.Configuration) error {
	if c == nil || c.Lex == nil {
		return nil
	}
	if c.Lex.InvokedBy == nil && c.Lex.RespondsTo == "" {
		return badRequest("Configuration.Lex must set InvokedBy (or the deprecated RespondsTo).")
	}
	return nil
}

// CreateAppInstanceBot creates a bot with a UUIDv4 id. It is idempotent by
// ClientRequestToken. The Lex configuration is stored and returned as
// given; Belfry does not call Lex.
func (s *Service) CreateAppInstanceBot(ctx context.Context, in *chime.CreateAppInstanceBotRequest) (*chime.CreateAppInstanceBotResponse, error) {
	if err := s.permit(ctx, chime.OpCreateAppInstanceBot, in); err != nil {
		return nil, err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	if err := checkBotConfiguration(in.Configuration); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(in.Configuration)
	if err != nil {
		return nil, err
	}
	token := deref(in.ClientRequestToken)
	fp := fingerprint(struct {
		AppInstanceArn, Name, Metadata *string
		Configuration                  *chime.Configuration
		Tags                           []chime.Tag
	}{in.AppInstanceArn, in.Name, in.Metadata, in.Configuration, in.Tags})
	sc := scope("CreateAppInstanceBot", ai.String())
	var arn string
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		prev, ok, err := s.replay(ctx, tx, sc, token, fp, "CreateAppInstanceBot")
		if err != nil || ok {
			arn = prev
			return err
		}
		now := s.now()
		b, err := tx.CreateAppInstanceBot(ctx, store.AppInstanceBot{
			AppInstanceID: ai.AppInstanceID, BotID: uuid.NewString(), Name: deref(in.Name), Metadata: deref(in.Metadata),
			Configuration: cfg, CreatedAt: now, UpdatedAt: now,
		})
		if err != nil {
			return err
		}
		arn = s.botArn(b.AppInstanceID, b.BotID)
		if err := tx.PutTags(ctx, ai.AppInstanceID, arn, storeTags(in.Tags)); err != nil {
			return err
		}
		return s.remember(ctx, tx, store.IdempotencyRecord{Scope: sc, Token: token, Fingerprint: fp, Result: arn,
			AppInstanceID: ai.AppInstanceID, BotID: b.BotID})
	})
	if err != nil {
		return nil, storeErr(err, "AppInstanceBot")
	}
	return &chime.CreateAppInstanceBotResponse{AppInstanceBotArn: &arn}, nil
}

// DescribeAppInstanceBot returns a bot.
func (s *Service) DescribeAppInstanceBot(ctx context.Context, in *chime.DescribeAppInstanceBotRequest) (*chime.DescribeAppInstanceBotResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeAppInstanceBot, in); err != nil {
		return nil, err
	}
	arn, err := s.parseBot("AppInstanceBotArn", deref(in.AppInstanceBotArn))
	if err != nil {
		return nil, err
	}
	b, err := viewOne(ctx, s, "AppInstanceBot "+arn.String(), func(tx store.ReadTx) (store.AppInstanceBot, error) {
		return tx.GetAppInstanceBot(ctx, arn.AppInstanceID, arn.ID)
	})
	if err != nil {
		return nil, err
	}
	var cfg *chime.Configuration
	if len(b.Configuration) > 0 {
		if err := json.Unmarshal(b.Configuration, &cfg); err != nil {
			return nil, fmt.Errorf("bot %s: stored configuration: %w", arn, err)
		}
	}
	return &chime.DescribeAppInstanceBotResponse{AppInstanceBot: &chime.AppInstanceBot{
		AppInstanceBotArn:    ptr(arn.String()),
		Name:                 optional(b.Name),
		Metadata:             optional(b.Metadata),
		Configuration:        cfg,
		CreatedTimestamp:     chime.NewTime(b.CreatedAt),
		LastUpdatedTimestamp: chime.NewTime(b.UpdatedAt),
	}}, nil
}

// UpdateAppInstanceBot sets a bot's name and metadata, and its
// configuration when one is given.
func (s *Service) UpdateAppInstanceBot(ctx context.Context, in *chime.UpdateAppInstanceBotRequest) (*chime.UpdateAppInstanceBotResponse, error) {
	if err := s.permit(ctx, chime.OpUpdateAppInstanceBot, in); err != nil {
		return nil, err
	}
	arn, err := s.parseBot("AppInstanceBotArn", deref(in.AppInstanceBotArn))
	if err != nil {
		return nil, err
	}
	if err := checkBotConfiguration(in.Configuration); err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		b, err := tx.GetAppInstanceBot(ctx, arn.AppInstanceID, arn.ID)
		if err != nil {
			return err
		}
		b.Name, b.Metadata, b.UpdatedAt = deref(in.Name), deref(in.Metadata), s.now()
		if in.Configuration != nil {
			if b.Configuration, err = json.Marshal(in.Configuration); err != nil {
				return err
			}
		}
		return tx.UpdateAppInstanceBot(ctx, b)
	})
	if err != nil {
		return nil, storeErr(err, "AppInstanceBot "+arn.String())
	}
	return &chime.UpdateAppInstanceBotResponse{AppInstanceBotArn: ptr(arn.String())}, nil
}

// DeleteAppInstanceBot deletes a bot, its admin role and its tags.
func (s *Service) DeleteAppInstanceBot(ctx context.Context, in *chime.DeleteAppInstanceBotRequest) error {
	if err := s.permit(ctx, chime.OpDeleteAppInstanceBot, in); err != nil {
		return err
	}
	arn, err := s.parseBot("AppInstanceBotArn", deref(in.AppInstanceBotArn))
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		return tx.DeleteAppInstanceBot(ctx, arn.AppInstanceID, arn.ID) // and its tags
	})
	return storeErr(err, "AppInstanceBot "+arn.String())
}

// ListAppInstanceBots lists an app instance's bots in creation order.
func (s *Service) ListAppInstanceBots(ctx context.Context, in *chime.ListAppInstanceBotsRequest) (*chime.ListAppInstanceBotsResponse, error) {
	if err := s.permit(ctx, chime.OpListAppInstanceBots, in); err != nil {
		return nil, err
	}
	ai, bs, next, err := listInAppInstance(ctx, s, "ListAppInstanceBots", in.AppInstanceArn, in.MaxResults, in.NextToken,
		func(tx store.ReadTx, id string, p store.Page) ([]store.AppInstanceBot, error) {
			return tx.ListAppInstanceBots(ctx, id, p)
		},
		func(b store.AppInstanceBot) int64 { return b.Seq })
	if err != nil {
		return nil, err
	}
	out := &chime.ListAppInstanceBotsResponse{AppInstanceArn: ptr(ai.String()), AppInstanceBots: make([]chime.AppInstanceBotSummary, 0, len(bs)), NextToken: next}
	for _, b := range bs {
		out.AppInstanceBots = append(out.AppInstanceBots, chime.AppInstanceBotSummary{
			AppInstanceBotArn: ptr(s.botArn(b.AppInstanceID, b.BotID)), Name: optional(b.Name), Metadata: optional(b.Metadata),
		})
	}
	return out, nil
}

package sqlstore

import (
	"context"
	"fmt"

	"github.com/belfryhq/belfry/store"
)

// ListTags implements store.TagReader.
func (t ReadTx) ListTags(ctx context.Context, resourceArn string) ([]store.Tag, error) {
	return list(ctx, t, "tags of "+resourceArn, func(r scanner) (store.Tag, error) {
		var tag store.Tag
		err := r.Scan(&tag.Key, &tag.Value)
		return tag, err
	}, `SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY key`, resourceArn)
}

// PutTags implements store.TagWriter.
func (t Tx) PutTags(ctx context.Context, appInstanceID, resourceArn string, tags []store.Tag) error {
	for _, tag := range tags {
		_, err := t.exec(ctx, `INSERT INTO tags (resource_arn, key, value, app_instance_id) VALUES (?, ?, ?, ?)
			ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value`, resourceArn, tag.Key, tag.Value, appInstanceID)
		if err != nil {
			return fmt.Errorf("%s: tag %s: %w", t.d.Name, resourceArn, t.d.Translate(err))
		}
	}
	return nil
}

// DeleteTags implements store.TagWriter.
func (t Tx) DeleteTags(ctx context.Context, resourceArn string, keys []string) error {
	for _, k := range keys {
		if _, err := t.exec(ctx, `DELETE FROM tags WHERE resource_arn = ? AND key = ?`, resourceArn, k); err != nil {
			return fmt.Errorf("%s: untag %s: %w", t.d.Name, resourceArn, t.d.Translate(err))
		}
	}
	return nil
}

// DeleteAllTags implements store.TagWriter.
func (t Tx) DeleteAllTags(ctx context.Context, resourceArn string) (int, error) {
	return t.execCount(ctx, "delete tags of "+resourceArn, `DELETE FROM tags WHERE resource_arn = ?`, resourceArn)
}

// deleteTagsOf deletes the tags of a resource being deleted; see
// store.ResourceSuffix.
func (t Tx) deleteTagsOf(ctx context.Context, appInstanceID, typ, id string) error {
	suffix := store.ResourceSuffix(appInstanceID, typ, id)
	_, err := t.execCount(ctx, "delete tags of "+typ+" "+id,
		t.d.DeleteTagsWithSuffix, appInstanceID, suffix, suffix)
	return err
}

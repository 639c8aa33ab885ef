package store

// Resources outside the foreign keys (tags and credentials) are keyed by
// ARN, arn:aws:chime:{region}:{account}:app-instance/{id}[/{type}/{id}],
// and an engine knows an app instance's id but not the region and account
// of its ARNs. So an engine deleting a parent matches those rows by the
// ARN's tail from the app instance on, which ids make unique.

// ResourceSuffix is the tail of the ARN of resource id of type typ (user,
// bot, channel, channel-flow) in app instance appInstanceID: every ARN of
// that resource ends with it.
func ResourceSuffix(appInstanceID, typ, id string) string {
	return ":app-instance/" + appInstanceID + "/" + typ + "/" + id
}

// UserArnInfix is contained in the ARN of every user of app instance
// appInstanceID, and in no other ARN.
func UserArnInfix(appInstanceID string) string {
	return ":app-instance/" + appInstanceID + "/user/"
}

// Package storetest is the conformance suite for store.Store: every engine
// runs it, so that the service layer can rely on the contract in package
// store rather than on one engine's behaviour.
//
// An engine's test calls Run with a function opening an empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "belfry.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return db
//		})
//	}
//
// To cover a new record, add its tests to a file named after it and list
// them in [Run]'s table.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// Run runs the conformance suite against the stores open returns.
//
// Subtests run in parallel, and each calls open once: open must return a
// new, empty store that shares nothing with the others, failing t itself if
// it cannot. Run closes the store when the subtest ends and fails it if
// Close fails.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Credential/CreateGet", testCredentialCreateGet},
		{"Credential/Errors", testCredentialErrors},
		{"Credential/List", testCredentialList},
		{"Credential/Delete", testCredentialDelete},
		{"Credential/DeleteByUser", testCredentialDeleteByUser},

		{"Identity/CreateGet", testIdentityCreateGet},
		{"Identity/Errors", testIdentityErrors},
		{"Identity/ListPages", testIdentityListPages},
		{"Identity/Expired", testIdentityExpired},
		{"Identity/DeleteLeavesNothing", testIdentityDeleteLeavesNothing},
		{"Identity/Tags", testTags},
		{"Identity/Updates", testIdentityUpdates},
		{"Identity/ListsCounts", testIdentityListsCounts},
		{"Identity/BotDeleteLeavesNothing", testBotDeleteLeavesNothing},
		{"Identity/DeleteAllTags", testDeleteAllTags},
		{"Identity/IdempotencyExpiry", testIdempotencyExpiry},
		{"Identity/ServerSecret", testServerSecret},
		{"Tx/Ping", testPing},

		{"Channel/CreateGet", testChannelCreateGet},
		{"Channel/Errors", testChannelErrors},
		{"Channel/List", testChannelList},
		{"Channel/Expired", testChannelExpired},
		{"Channel/Search", testChannelSearch},
		{"Channel/Delete", testChannelDelete},
		{"Channel/DeleteAppInstance", testMessagingDeleteAppInstance},

		{"Strings/Odd", testOddStrings},

		{"SendPath/MessageOnce", testMessageOnce},
		{"SendPath/Generation", testGeneration},

		{"Membership/CreateGet", testMembershipCreateGet},
		{"Membership/Errors", testMembershipErrors},
		{"Membership/List", testMembershipList},
		{"Membership/MembershipsOf", testMembershipsOf},
		{"Membership/MemberDelete", testMemberDelete},

		{"SubChannel/CreateGetList", testSubChannelCreateGetList},
		{"SubChannel/Counts", testSubChannelCounts},
		{"SubChannel/Delete", testSubChannelDelete},

		{"Grant/CreateGetList", testGrants},
		{"Grant/Errors", testGrantErrors},
		{"Grant/ChannelsModeratedBy", testChannelsModeratedBy},

		{"Message/CreateGet", testMessageCreateGet},
		{"Message/Errors", testMessageErrors},
		{"Message/Order", testMessageOrder},
		{"Message/TimeBounds", testMessageTimeBounds},
		{"Message/Visibility", testMessageVisibility},
		{"Message/SubChannel", testMessageSubChannel},
		{"Message/Retention", testMessageRetention},

		{"Flow/CreateGet", testChannelFlowCreateGet},
		{"Flow/Errors", testChannelFlowErrors},
		{"Flow/List", testChannelFlowList},
		{"Flow/Association", testChannelFlowAssociation},
		{"Flow/ChannelsWithFlow", testChannelsWithFlow},
		{"Flow/DeleteAppInstance", testFlowDeleteAppInstance},
		{"Flow/DeleteTakesTags", testDeleteTakesTags},

		{"FlowJob/Lifecycle", testFlowJobLifecycle},
		{"FlowJob/Errors", testFlowJobErrors},
		{"FlowJob/DeleteChannel", testFlowJobDeleteChannel},

		{"StreamingConfiguration/PutListDelete", testStreamingConfigurations},
		{"Delivery/Queue", testDeliveryQueue},
		{"Delivery/OrderKeyKeepsPlace", testDeliveryOrderKeyKeepsPlace},
		{"Delivery/PushTargets", testPushTargets},
		{"Tx/BeforeCommit", testBeforeCommit},
		{"Outbox", testOutbox},
		{"Channel/Touch", testChannelTouch},
		{"Channel/TouchAt", testChannelTouchAt},

		{"Tx/ReadsOwnWrites", testTxReadsOwnWrites},
		{"Tx/RollbackOnError", testTxRollbackOnError},
		{"Tx/RollbackOnPanic", testTxRollbackOnPanic},
		{"Tx/CanceledContext", testTxCanceledContext},
		{"Tx/ViewDuringUpdate", testTxViewDuringUpdate},
		{"Tx/ConcurrentUpdates", testTxConcurrentUpdates},
		{"Tx/AfterCommitRuns", testAfterCommitRuns},
		{"Tx/AfterCommitNotOnRollback", testAfterCommitNotOnRollback},
		{"Tx/AfterCommitOrder", testAfterCommitOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// epoch is the base of the suite's timestamps: the store never reads the
// clock, so tests need none either.
var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// update runs fn in s.Update and fails t if it returns an error.
func update(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in s.View and fails t if it returns an error.
func view(t *testing.T, s store.Store, fn func(tx store.ReadTx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// ctx is a shorthand for the context tests pass to store methods.
func ctx(t *testing.T) context.Context { return t.Context() }

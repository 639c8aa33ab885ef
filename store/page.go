package store

// Page selects one page of a list in creation order. Every listable record
// carries a Seq: a number the store assigns when the record is created,
// strictly increasing in creation order and never reused. Lists are ordered
// by Seq, and a page starts after a given Seq, so pages never repeat or
// skip a record that existed when the first page was read, whatever is
// created or deleted in between (keyset pagination).
type Page struct {
	// After is the Seq of the last record of the previous page; 0 starts at
	// the beginning.
	After int64
	// Limit is the most records to return; 0 or less means no limit.
	Limit int
}

package store

// Upgrading lead-store/1.
//
// lead-store/2 adds a lead's sequence number to its record (the version a
// conditional commit checks) and keeps the routing state as rows instead
// of one JSON value under "r". Open upgrades a lead-store/1 directory in
// place: each lead record gains the sequence number of its last history
// entry, and the routing state's JSON, {"teams": {KEY: STATE}, "open":
// {OWNER: N}}, is split into the rows the runtime's engine reads
// ("team/KEY" → STATE, "open/OWNER" → N: engine.TeamRow and OpenRow).
// It writes in transactions as big as Badger takes and sets the new
// format last; records carry a flag once upgraded (codec.go), so an
// upgrade a crash interrupted starts again where it stopped.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	badger "github.com/dgraph-io/badger/v4"
)

const formatV1 = "lead-store/1"

// upgradeV1 upgrades the store from lead-store/1.
func (s *Badger) upgradeV1() error {
	s.opts.Logger.Info("upgrading the store from lead-store/1 to " + formatVersion + ": every lead record gains its sequence number; this runs once")
	var after []byte // the last lead key done
	for {
		n, last, err := s.upgradeLeads(after)
		if err != nil {
			return fmt.Errorf("upgrade from %s: %w", formatV1, err)
		}
		if n == 0 {
			break
		}
		after = last
	}
	return s.db.Update(func(txn *badger.Txn) error {
		raw, err := get(txn, kRotation)
		if err != nil {
			return err
		}
		if raw != nil {
			var rot struct {
				Teams map[string]json.RawMessage `json:"teams"`
				Open  map[string]int             `json:"open"`
			}
			if err := json.Unmarshal(raw, &rot); err != nil {
				return fmt.Errorf("upgrade from %s: the routing state does not read: %w", formatV1, err)
			}
			for k, v := range rot.Teams {
				if err := txn.Set(routingKey("team/"+k), v); err != nil {
					return err
				}
			}
			for k, n := range rot.Open {
				if err := txn.Set(routingKey("open/"+k), strconv.AppendInt(nil, int64(n), 10)); err != nil {
					return err
				}
			}
			if err := txn.Delete(kRotation); err != nil {
				return err
			}
		}
		return txn.Set(kFormat, []byte(formatVersion))
	})
}

// upgradeLeads rewrites the lead records after the key after that lack
// a sequence number, as many as one transaction takes, and returns how
// many records it passed and the last of them.
func (s *Badger) upgradeLeads(after []byte) (int, []byte, error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pLead), PrefetchValues: true, PrefetchSize: 100})
	start := []byte(pLead)
	if after != nil {
		start = append(bytes.Clone(after), 0)
	}
	n := 0
	var last []byte
	var size int64
	var err error
	for it.Seek(start); it.Valid() && err == nil; it.Next() {
		k := it.Item().KeyCopy(nil)
		var v []byte
		if v, err = it.Item().ValueCopy(nil); err != nil {
			break
		}
		if len(v) > 0 && v[0]&flagSeq != 0 {
			n, last = n+1, k // upgraded before a crash
			continue
		}
		id := string(k[len(pLead):])
		var l *Lead
		if l, err = decodeLead(id, v, true); err != nil {
			break
		}
		if l.Seq, err = lastHistory(txn, id); err != nil {
			break
		}
		rec := encodeLead(l)
		if size += entrySize(k, rec); size > s.maxTxnSize()/2 {
			break // the rest in the next transaction
		}
		if err = txn.Set(k, rec); err != nil {
			break
		}
		n, last = n+1, k
	}
	it.Close()
	if err != nil {
		return 0, nil, err
	}
	return n, last, txn.Commit()
}

// lastHistory returns the sequence number of a lead's last history entry
// (0 if it has none).
func lastHistory(txn *badger.Txn, id string) (uint64, error) {
	prefix := prefixKey(pHistory, id)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
	defer it.Close()
	it.Seek(historyKey(id, ^uint64(0)))
	if !it.Valid() {
		return 0, nil
	}
	k := it.Item().Key()
	if len(k) != len(prefix)+8 {
		return 0, fmt.Errorf("history key %q: %w", k, errCorrupt)
	}
	return binary.BigEndian.Uint64(k[len(prefix):]), nil
}

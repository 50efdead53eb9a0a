package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// A lead record (the value under l/<id>) is
//
//	flags byte (1 terminal, 2 stuck, 4 seq follows)
//	workflow, version, stage, owner: uvarint length + bytes each
//	seq: uvarint (flag 4; lead-store/1 records have none: upgrade.go)
//	timer count: uvarint; per timer, in name order: uvarint length + name,
//	  due as 8 bytes big-endian Unix nanoseconds
//	Data: the rest
//
// The id is the key's. Attributes come first so that filtering a page of
// leads never copies Data.

const (
	flagTerminal = 1 << iota
	flagStuck
	flagSeq
)

var errCorrupt = errors.New("corrupt record")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeLead(l *Lead) []byte {
	n := 1 + 4*binary.MaxVarintLen16 + len(l.Workflow) + len(l.Version) + len(l.Stage) + len(l.Owner) +
		binary.MaxVarintLen64 + binary.MaxVarintLen16 + len(l.Data)
	for name := range l.Timers {
		n += binary.MaxVarintLen16 + len(name) + 8
	}
	b := make([]byte, 0, n)
	flags := byte(flagSeq)
	if l.Terminal {
		flags |= flagTerminal
	}
	if l.Stuck {
		flags |= flagStuck
	}
	b = append(b, flags)
	b = appendString(b, l.Workflow)
	b = appendString(b, l.Version)
	b = appendString(b, l.Stage)
	b = appendString(b, l.Owner)
	b = binary.AppendUvarint(b, l.Seq)
	b = binary.AppendUvarint(b, uint64(len(l.Timers)))
	appendTimer := func(name string, due time.Time) {
		b = appendString(b, name)
		b = binary.BigEndian.AppendUint64(b, uint64(due.UnixNano()))
	}
	if len(l.Timers) == 1 {
		for name, due := range l.Timers {
			appendTimer(name, due)
		}
	} else {
		// In name order, so that a lead encodes the same every time.
		for _, name := range slices.Sorted(maps.Keys(l.Timers)) {
			appendTimer(name, l.Timers[name])
		}
	}
	return append(b, l.Data...)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errCorrupt, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.err, r.b = errCorrupt, nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes(r.uvarint())) }

// decodeLead decodes a lead record. With data false it leaves Data nil,
// for callers that only need the attributes.
func decodeLead(id string, b []byte, data bool) (*Lead, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("lead %s: %w", id, errCorrupt)
	}
	l := &Lead{ID: id, Terminal: b[0]&flagTerminal != 0, Stuck: b[0]&flagStuck != 0}
	r := reader{b: b[1:]}
	l.Workflow = r.string()
	l.Version = r.string()
	l.Stage = r.string()
	l.Owner = r.string()
	if b[0]&flagSeq != 0 {
		l.Seq = r.uvarint()
	}
	if n := r.uvarint(); n > 0 && r.err == nil {
		if n > uint64(len(r.b)) {
			return nil, fmt.Errorf("lead %s: %w", id, errCorrupt)
		}
		l.Timers = make(map[string]time.Time, n)
		for range n {
			name := r.string()
			due := r.bytes(8)
			if r.err != nil {
				break
			}
			l.Timers[name] = time.Unix(0, int64(binary.BigEndian.Uint64(due))).UTC()
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("lead %s: %w", id, r.err)
	}
	if data {
		l.Data = slices.Clone(r.b)
	}
	return l, nil
}

// A version record (the value under v/<workflow>␀<version>) is SavedAt as
// 8 bytes big-endian Unix nanoseconds followed by the IR.

func encodeVersion(v *Version) []byte {
	b := make([]byte, 0, 8+len(v.IR))
	b = binary.BigEndian.AppendUint64(b, uint64(v.SavedAt.UnixNano()))
	return append(b, v.IR...)
}

func decodeVersion(workflow, version string, b []byte) (Version, error) {
	if len(b) < 8 {
		return Version{}, fmt.Errorf("version %s of %s: %w", version, workflow, errCorrupt)
	}
	return Version{
		Workflow: workflow,
		Version:  version,
		SavedAt:  time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC(),
		IR:       slices.Clone(b[8:]),
	}, nil
}

// Command events-consumer is a downstream reader of the payment service's events: it
// binds a durable pull consumer on the JetStream stream the relay publishes to (explicit
// acks), drops events it has already handled (by event_id), acks every message, and
// prints one JSON line per message received:
//
//	{"event":{...},"msg_id":"…","subject":"payment.charged","stream_seq":7,
//	 "delivered":1,"duplicate":false}
//
// event is the message body as published, msg_id its Nats-Msg-Id header, stream_seq its
// sequence in the stream, delivered how many times JetStream delivered it (more than 1:
// a redelivery of an unacked message), duplicate whether its event_id was seen before
// (a redelivery, or the same event published again after the stream's duplicate window).
//
// Delivery is at least once, so a real consumer makes the effect of an event and the
// record of its event_id one transaction in its own store, then acks. This example keeps
// the ids in memory, and in -seen-file (one id a line) when given, written before the
// ack: a restart then still recognises what it handled.
//
// It stops after -count unique events, or after -idle without a message, or fails after
// -timeout. Exit status: 0 stopped as asked, 1 an error (connection, stream, a malformed
// message, an ack the server did not confirm, -timeout reached first), 2 bad usage.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type options struct {
	url        string
	stream     string
	durable    string
	filter     string
	count      int
	idle       time.Duration
	timeout    time.Duration
	streamWait time.Duration
	ackWait    time.Duration
	batch      int
	seenFile   string
}

// line is what is printed for each message received.
type line struct {
	Event     json.RawMessage `json:"event"`
	MsgID     string          `json:"msg_id"`
	Subject   string          `json:"subject"`
	StreamSeq uint64          `json:"stream_seq"`
	Delivered uint64          `json:"delivered"`
	Duplicate bool            `json:"duplicate"`
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("events-consumer", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "nats://127.0.0.1:4222", "NATS server URL")
	fs.StringVar(&o.stream, "stream", "PAYMENT_EVENTS", "JetStream stream the relay publishes to")
	fs.StringVar(&o.durable, "durable", "events-consumer", "durable consumer name (created if missing)")
	fs.StringVar(&o.filter, "filter", "", "subject filter of a new consumer, e.g. payment.refunded (default: every subject)")
	fs.IntVar(&o.count, "count", 0, "stop after this many unique events (0: no limit)")
	fs.DurationVar(&o.idle, "idle", 0, "stop after this long without a message (0: never)")
	fs.DurationVar(&o.timeout, "timeout", 0, "fail if not stopped within this time (0: no limit)")
	fs.DurationVar(&o.streamWait, "stream-wait", 0, "wait this long for the stream to exist (0: fail at once)")
	fs.DurationVar(&o.ackWait, "ack-wait", 30*time.Second, "AckWait of a new consumer (redelivery after this without an ack)")
	fs.IntVar(&o.batch, "batch", 64, "messages asked for per pull request")
	fs.StringVar(&o.seenFile, "seen-file", "", "file of handled event ids (read at start, appended before each ack)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.count < 0 || o.idle < 0 || o.timeout < 0 || o.streamWait < 0 || o.batch < 1 || o.ackWait <= 0 {
		return nil, errors.New("negative -count/-idle/-timeout/-stream-wait, or -batch < 1, or -ack-wait <= 0")
	}
	if o.count == 0 && o.idle == 0 && o.timeout == 0 {
		return nil, errors.New("give -count, -idle or -timeout: something must end the run")
	}
	return o, nil
}

// seenSet is the consumer's memory of handled event ids.
type seenSet struct {
	ids  map[string]struct{}
	file *os.File
}

func openSeen(path string) (*seenSet, error) {
	s := &seenSet{ids: make(map[string]struct{})}
	if path == "" {
		return s, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			s.ids[id] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, err
	}
	s.file = f
	return s, nil
}

// add records @id; false when it was already there. With a file, the id is on disk
// (fsync) before add returns, so it is never acked without being recorded.
func (s *seenSet) add(id string) (bool, error) {
	if _, ok := s.ids[id]; ok {
		return false, nil
	}
	if s.file != nil {
		if _, err := s.file.WriteString(id + "\n"); err != nil {
			return false, err
		}
		if err := s.file.Sync(); err != nil {
			return false, err
		}
	}
	s.ids[id] = struct{}{}
	return true, nil
}

func (s *seenSet) close() {
	if s.file != nil {
		s.file.Close()
	}
}

// findStream looks the stream up, retrying until @wait has passed (the relay creates it
// when it first connects, which may be after this consumer starts).
func findStream(ctx context.Context, js jetstream.JetStream, name string, wait time.Duration) (jetstream.Stream, error) {
	deadline := time.Now().Add(wait)
	for {
		st, err := js.Stream(ctx, name)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// eventID is the event_id of a message body; an error when the body is not a JSON object
// with a non-empty string event_id.
func eventID(data []byte) (string, error) {
	var ev struct {
		EventID *string `json:"event_id"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return "", fmt.Errorf("body is not a JSON object: %w", err)
	}
	if ev.EventID == nil || *ev.EventID == "" {
		return "", errors.New("body has no event_id")
	}
	return *ev.EventID, nil
}

type consumer struct {
	o      *options
	cons   jetstream.Consumer
	seen   *seenSet
	out    *bufio.Writer
	unique int
	total  int
	dups   int
}

// handle records, prints and acks one message. A malformed message is an error: it is
// left unacked (JetStream redelivers it to whoever fixes the cause) and the run stops.
func (c *consumer) handle(ctx context.Context, msg jetstream.Msg) error {
	c.total++
	meta, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("message on %s: no JetStream metadata: %w", msg.Subject(), err)
	}
	id, err := eventID(msg.Data())
	if err != nil {
		return fmt.Errorf("stream seq %d on %s: %w: %q", meta.Sequence.Stream, msg.Subject(), err, msg.Data())
	}
	fresh, err := c.seen.add(id)
	if err != nil {
		return fmt.Errorf("recording event %s: %w", id, err)
	}
	if fresh {
		c.unique++
	} else {
		c.dups++
	}
	b, err := json.Marshal(line{
		Event:     json.RawMessage(msg.Data()),
		MsgID:     msg.Headers().Get(jetstream.MsgIDHeader),
		Subject:   msg.Subject(),
		StreamSeq: meta.Sequence.Stream,
		Delivered: meta.NumDelivered,
		Duplicate: !fresh,
	})
	if err != nil {
		return err
	}
	c.out.Write(b)
	c.out.WriteByte('\n')
	if err := c.out.Flush(); err != nil {
		return err
	}
	// DoubleAck waits for the server's confirmation: an ack lost on the way would mean a
	// redelivery, which the event_id check absorbs, but a run that stops here must know.
	ackCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := msg.DoubleAck(ackCtx); err != nil {
		return fmt.Errorf("ack of stream seq %d (event %s): %w", meta.Sequence.Stream, id, err)
	}
	return nil
}

func (c *consumer) run(ctx context.Context) error {
	start := time.Now()
	lastMsg := start
	for {
		if c.o.count > 0 && c.unique >= c.o.count {
			return nil
		}
		now := time.Now()
		if c.o.idle > 0 && now.Sub(lastMsg) >= c.o.idle {
			return nil
		}
		if c.o.timeout > 0 && now.Sub(start) >= c.o.timeout {
			return fmt.Errorf("timeout after %s: %d unique events of %d wanted", c.o.timeout, c.unique, c.o.count)
		}
		wait := time.Second
		if c.o.idle > 0 {
			wait = min(wait, c.o.idle-now.Sub(lastMsg))
		}
		if c.o.timeout > 0 {
			wait = min(wait, c.o.timeout-now.Sub(start))
		}
		wait = max(wait, 100*time.Millisecond)
		// Never more than the events still wanted: a message fetched and not acked would
		// wait AckWait for its redelivery to the next reader.
		n := c.o.batch
		if c.o.count > 0 {
			n = min(n, c.o.count-c.unique)
		}
		batch, err := c.cons.Fetch(n, jetstream.FetchMaxWait(wait))
		if err != nil {
			if errors.Is(err, nats.ErrConnectionClosed) {
				return err
			}
			// Disconnected (the client reconnects by itself) or a timeout: try again.
			fmt.Fprintf(os.Stderr, "events-consumer: fetch: %v\n", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for msg := range batch.Messages() {
			lastMsg = time.Now()
			if err := c.handle(ctx, msg); err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, jetstream.ErrNoMessages) {
			if errors.Is(err, nats.ErrConnectionClosed) {
				return err
			}
			fmt.Fprintf(os.Stderr, "events-consumer: fetch: %v\n", err)
		}
	}
}

func realMain() int {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "events-consumer: %v\n", err)
		return 2
	}
	ctx := context.Background()
	nc, err := nats.Connect(o.url, nats.Name("events-consumer"), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		fmt.Fprintf(os.Stderr, "events-consumer: connect %s: %v\n", o.url, err)
		return 1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Fprintf(os.Stderr, "events-consumer: %v\n", err)
		return 1
	}
	st, err := findStream(ctx, js, o.stream, o.streamWait)
	if err != nil {
		fmt.Fprintf(os.Stderr, "events-consumer: %v\n", err)
		return 1
	}
	// An existing durable keeps its position (and its own settings): that is what makes
	// it durable. A new one starts at the stream's first message.
	cons, err := st.Consumer(ctx, o.durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = st.CreateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:       o.durable,
			AckPolicy:     jetstream.AckExplicitPolicy,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckWait:       o.ackWait,
			FilterSubject: o.filter,
		})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "events-consumer: consumer %s on %s: %v\n", o.durable, o.stream, err)
		return 1
	}
	seen, err := openSeen(o.seenFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "events-consumer: -seen-file: %v\n", err)
		return 1
	}
	defer seen.close()
	c := &consumer{o: o, cons: cons, seen: seen, out: bufio.NewWriter(os.Stdout)}
	err = c.run(ctx)
	fmt.Fprintf(os.Stderr, "events-consumer: %d messages, %d unique events, %d duplicates\n",
		c.total, c.unique, c.dups)
	if err != nil {
		fmt.Fprintf(os.Stderr, "events-consumer: %v\n", err)
		return 1
	}
	return 0
}

func main() {
	os.Exit(realMain())
}

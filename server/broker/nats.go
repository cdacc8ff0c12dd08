package broker

import (
	"context"

	"github.com/nats-io/nats.go"
)

// NATS is a Broker over NATS subjects.
type NATS struct{ conn *nats.Conn }

func openNATS(rawURL string) (*NATS, error) {
	conn, err := nats.Connect(rawURL)
	if err != nil {
		return nil, err
	}
	return &NATS{conn: conn}, nil
}

// Publish implements Broker.
func (n *NATS) Publish(_ context.Context, account string) error {
	return n.conn.Publish(subject(account), nil)
}

// Subscribe implements Broker.
func (n *NATS) Subscribe(ctx context.Context, account string) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	sub, err := n.conn.Subscribe(subject(account), func(*nats.Msg) { wake(ch) })
	if err != nil {
		return nil, err
	}
	// Make sure the server has the subscription before anyone publishes.
	if err := n.conn.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	go func() {
		<-ctx.Done()
		_ = sub.Unsubscribe()
	}()
	return ch, nil
}

// Close implements Broker.
func (n *NATS) Close() error {
	n.conn.Close()
	return nil
}

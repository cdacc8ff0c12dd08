package broker

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Redis is a Broker over Redis publish/subscribe.
type Redis struct{ client *redis.Client }

func openRedis(rawURL string) (*Redis, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return &Redis{client: redis.NewClient(opts)}, nil
}

// Publish implements Broker.
func (r *Redis) Publish(ctx context.Context, account string) error {
	return r.client.Publish(ctx, subject(account), "").Err()
}

// Subscribe implements Broker.
func (r *Redis) Subscribe(ctx context.Context, account string) (<-chan struct{}, error) {
	sub := r.client.Subscribe(ctx, subject(account))
	// Wait for the subscription to be in place, so no wake-up is missed.
	if _, err := sub.Receive(ctx); err != nil {
		_ = sub.Close()
		return nil, err
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer sub.Close()
		msgs := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-msgs:
				if !ok {
					return
				}
				wake(ch)
			}
		}
	}()
	return ch, nil
}

// Close implements Broker.
func (r *Redis) Close() error { return r.client.Close() }

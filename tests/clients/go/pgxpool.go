// Drives poolcalc's pgx snippet (tests/clients/run.py): the snippet is package db (Open(ctx)
// returning a pgxpool.Pool, and WithPoolTimeout), built unchanged beside this file and drive.go in
// a GOPATH against Debian's Go packages. The pool is used through its methods only (Acquire, Exec,
// Release, Close), which pgx v4 and v5 share: the pool type comes from db.Open's own result.
package main

import (
	"context"

	"conformance/db"
)

type pgxPool struct {
	exec_    func(ctx context.Context, query string) error
	holdOne_ func(ctx context.Context, query string) error
	close_   func()
}

func (p pgxPool) exec(ctx context.Context, query string) error    { return p.exec_(ctx, query) }
func (p pgxPool) holdOne(ctx context.Context, query string) error { return p.holdOne_(ctx, query) }
func (p pgxPool) close()                                          { p.close_() }

func main() {
	drive(func() (pool, error) {
		d, err := db.Open(context.Background())
		if d == nil {
			return nil, err
		}
		return pgxPool{
			exec_: func(ctx context.Context, query string) error {
				_, err := d.Exec(ctx, query)
				return err
			},
			holdOne_: func(ctx context.Context, query string) error {
				conn, err := d.Acquire(ctx)
				if err != nil {
					return err
				}
				defer conn.Release()
				_, err = conn.Exec(context.Background(), query)
				return err
			},
			close_: d.Close,
		}, err
	})
}

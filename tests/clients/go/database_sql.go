// Drives poolcalc's go-database-sql snippet (tests/clients/run.py): the snippet is package db
// (Open(ctx) returning a *sql.DB, and WithPoolTimeout), built unchanged beside this file and
// drive.go in a GOPATH against Debian's Go packages. A connection is taken with db.Conn under the
// pool timeout's deadline, and the hold runs on it without one.
package main

import (
	"context"
	"database/sql"

	"conformance/db"
)

type sqlPool struct{ db *sql.DB }

func (p sqlPool) exec(ctx context.Context, query string) error {
	_, err := p.db.ExecContext(ctx, query)
	return err
}

func (p sqlPool) holdOne(ctx context.Context, query string) error {
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), query)
	return err
}

func (p sqlPool) close() { p.db.Close() }

func main() {
	drive(func() (pool, error) {
		d, err := db.Open(context.Background())
		if d == nil {
			return nil, err
		}
		return sqlPool{d}, err
	})
}

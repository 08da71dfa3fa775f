// The part of the Go drivers (database_sql.go, pgxpool.go) that does not depend on the library:
// built into each of them by tests/clients/run.py. drive checks one query on the snippet's pool,
// then starts QUERIES goroutines at once, each taking a connection under the snippet's
// WithPoolTimeout deadline and running pg_sleep(HOLD) on it without one (the deadline is the pool
// timeout's; the query is the test's hold), and prints one JSON line: each query's outcome and
// seconds from its start.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"conformance/db"
)

type result struct {
	Ok      bool    `json:"ok"`
	Seconds float64 `json:"seconds"`
	Error   *string `json:"error"`
}

type output struct {
	Opened    bool     `json:"opened"`
	OpenError *string  `json:"open_error"`
	Results   []result `json:"results"`
}

func text(err error) *string {
	s := fmt.Sprintf("%T: %v", err, err)
	return &s
}

// A pool as the drivers use it: one query, a connection held for a query, and closing.
type pool interface {
	exec(ctx context.Context, query string) error
	holdOne(ctx context.Context, query string) error
	close()
}

func drive(open func() (pool, error)) {
	queries, _ := strconv.Atoi(os.Args[1])
	hold := os.Args[2]
	out := output{Results: []result{}}
	p, err := open()
	if err == nil {
		err = p.exec(context.Background(), "SELECT 1")
	}
	if err != nil {
		out.OpenError = text(err)
	} else {
		out.Opened = true
		out.Results = make([]result, queries)
		var ready, done sync.WaitGroup
		ready.Add(queries)
		done.Add(queries)
		start := make(chan struct{})
		for i := 0; i < queries; i++ {
			go func(i int) {
				defer done.Done()
				ready.Done()
				<-start
				begin := time.Now()
				ctx, cancel := db.WithPoolTimeout(context.Background())
				defer cancel()
				err := p.holdOne(ctx, "SELECT pg_sleep("+hold+")")
				out.Results[i] = result{Ok: err == nil, Seconds: time.Since(begin).Seconds()}
				if err != nil {
					out.Results[i].Error = text(err)
				}
			}(i)
		}
		ready.Wait()
		close(start)
		done.Wait()
	}
	if p != nil {
		p.close()
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

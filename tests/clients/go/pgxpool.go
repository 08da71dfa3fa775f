// Drives poolcalc's pgx snippet (tests/clients/run.py): the snippet is package db
// (Open(ctx) returning a pgxpool.Pool, and WithPoolTimeout), built unchanged beside this file in
// a GOPATH against Debian's Go packages. The pool is used through its methods only (Acquire,
// Exec, Release, Close), which pgx v4 and v5 share. Checks one query, then starts QUERIES
// goroutines at once, each acquiring a connection under the snippet's WithPoolTimeout deadline
// and running pg_sleep(HOLD) on it without one, and prints one JSON line: each query's outcome
// and seconds from its start.
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

func main() {
	queries, _ := strconv.Atoi(os.Args[1])
	hold := os.Args[2]
	out := output{Results: []result{}}
	pool, err := db.Open(context.Background())
	if err == nil {
		_, err = pool.Exec(context.Background(), "SELECT 1")
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
				conn, err := pool.Acquire(ctx)
				if err == nil {
					_, err = conn.Exec(context.Background(), "SELECT pg_sleep("+hold+")")
					conn.Release()
				}
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
	if pool != nil {
		pool.Close()
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

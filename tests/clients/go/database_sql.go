// Drives poolcalc's go-database-sql snippet (tests/clients/run.py): the snippet is package db
// (Open returning a *sql.DB, and WithPoolTimeout), built unchanged beside this file in a GOPATH
// against Debian's Go packages. Open is called with a context when it takes one (Open(ctx)) and
// without otherwise (Open()), so the driver builds against either form. Checks one query, then
// starts QUERIES goroutines at once, each taking a connection with db.Conn under the snippet's
// WithPoolTimeout deadline and running pg_sleep(HOLD) on it without one (the deadline is the pool
// timeout's; the query is the test's hold), and prints one JSON line: each query's outcome and
// seconds from its start.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
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

// open calls db.Open with a context.Background() when it takes a context.
func open() (*sql.DB, error) {
	function := reflect.ValueOf(db.Open)
	var args []reflect.Value
	if function.Type().NumIn() == 1 {
		args = append(args, reflect.ValueOf(context.Background()))
	}
	out := function.Call(args)
	pool, _ := out[0].Interface().(*sql.DB)
	err, _ := out[1].Interface().(error)
	return pool, err
}

func main() {
	queries, _ := strconv.Atoi(os.Args[1])
	hold := os.Args[2]
	out := output{Results: []result{}}
	pool, err := open()
	if err == nil {
		_, err = pool.ExecContext(context.Background(), "SELECT 1")
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
				conn, err := pool.Conn(ctx)
				if err == nil {
					_, err = conn.ExecContext(context.Background(), "SELECT pg_sleep("+hold+")")
					conn.Close()
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

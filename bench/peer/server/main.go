// payment-peer: the payment service's contract (idl/payment.thrift, docs/CONTRACT.md)
// served the way a Go team would build it on Kitex, database/sql with go-sql-driver/mysql,
// and go-redis. It exists to be benchmarked against the C service (scripts/bench --peer);
// it serves no one.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/cloudwego/kitex/server"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"paymentpeer/kitex_gen/payment/paymentservice"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 0, "Thrift port; 0: any free port (logged)")
	myHost := flag.String("mysql-host", "127.0.0.1", "MySQL/MariaDB host")
	myPort := flag.Int("mysql-port", 3306, "MySQL/MariaDB port")
	myUser := flag.String("mysql-user", "root", "MySQL user")
	myPassword := flag.String("mysql-password", "", "MySQL password")
	myDB := flag.String("mysql-database", "payment_peer", "database, created with its tables when missing")
	pool := flag.Int("mysql-pool", 16, "most MySQL connections open at once")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis host:port")
	prefix := flag.String("redis-prefix", "peer:", "prefix of every Redis key")
	ttl := flag.Duration("ttl", time.Hour, "lifetime of a cached payment record")
	maxAmount := flag.Int64("max-amount-cents", 100000000, "largest single charge, in cents")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(*myHost, strconv.Itoa(*myPort))
	cfg.User, cfg.Passwd, cfg.DBName = *myUser, *myPassword, *myDB
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 3*time.Second, 5*time.Second, 5*time.Second

	rdb := redis.NewClient(&redis.Options{
		Addr: *redisAddr, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	st, err := openStore(ctx, cfg, *pool, rdb, *prefix, *ttl)
	cancel()
	if err != nil {
		log.Fatalf("payment-peer: %v", err)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		log.Fatalf("payment-peer: listen: %v", err)
	}
	fmt.Fprintf(os.Stderr, "payment-peer: rpc listening on %s\n", ln.Addr())

	svr := paymentservice.NewServer(&handler{store: st, maxCents: *maxAmount},
		server.WithListener(ln), server.WithExitWaitTime(time.Second))
	// Run returns after SIGINT or SIGTERM (Kitex's default exit signals), once the
	// server has stopped.
	if err := svr.Run(); err != nil {
		log.Fatalf("payment-peer: %v", err)
	}
	st.db.Close()
	rdb.Close()
}
